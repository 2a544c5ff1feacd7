import { readFileSync } from "node:fs";
import { join } from "node:path";
import { documented, loadManifest, render } from "../../scripts/deploy-manifest";

/**
 * The deploy docs cannot drift from the code: the functions' deployment manifest (the discovery
 * `firebase deploy` runs, on the built lib/) must be rendered in docs/deploy.md exactly, and every
 * background function must be described in docs/architecture.md.
 */
const ROOT = join(__dirname, "..", "..", "..");
const manifest = loadManifest();

describe("deploy documentation", () => {
  it("lists every function, trigger, topic, schedule, parameter and secret of the deployment manifest", () => {
    expect(Object.keys(manifest.endpoints).length).toBeGreaterThan(10);
    expect(documented().section).toBe(render(manifest));
  });

  it("describes every background function in docs/architecture.md", () => {
    const architecture = readFileSync(join(ROOT, "docs", "architecture.md"), "utf8");
    const background = Object.entries(manifest.endpoints).filter(([, e]) => !e.httpsTrigger);
    expect(background.length).toBeGreaterThan(5);
    const firstCells = architecture.split("\n").map((line) => line.split("|")[1]?.trim());
    for (const [name] of background) expect(firstCells).toContain(`\`${name}\``);
  });

  it("never ships the benchmarks' floor: it exists only in the functions emulator, or on the emulators with AIFFINITY_BENCH_FLOOR=1", () => {
    const asDeployed = { FUNCTIONS_EMULATOR: undefined, FIRESTORE_EMULATOR_HOST: undefined, AIFFINITY_BENCH_FLOOR: undefined };
    const names = (env: Record<string, string | undefined>) => Object.keys(loadManifest({ ...asDeployed, ...env }).endpoints);
    expect(Object.keys(manifest.endpoints)).not.toContain("benchFloor");
    expect(names({})).not.toContain("benchFloor");
    expect(names({ AIFFINITY_BENCH_FLOOR: "1" })).not.toContain("benchFloor");
    expect(names({ FUNCTIONS_EMULATOR: "true" })).toContain("benchFloor");
    expect(names({ AIFFINITY_BENCH_FLOOR: "1", FIRESTORE_EMULATOR_HOST: "127.0.0.1:8080" })).toContain("benchFloor");
  });

  it("ships the TTL policy of every expiring collection with firebase deploy", () => {
    const indexes = JSON.parse(readFileSync(join(ROOT, "firestore.indexes.json"), "utf8")) as {
      fieldOverrides: { collectionGroup: string; fieldPath: string; ttl?: boolean }[];
    };
    const ttl = indexes.fieldOverrides.filter((f) => f.ttl).map((f) => `${f.collectionGroup}.${f.fieldPath}`);
    expect(ttl.sort()).toEqual(
      ["capabilityEvents", "idempotencyKeys", "processedEvents", "qualityRollups", "rateLimits", "resourceLocks", "sandboxTraces", "throttles"].map(
        (c) => `${c}.expiresAt`,
      ),
    );
  });
});

import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEnv, promisify } from "node:util";
import { Webhook } from "standardwebhooks";
import { BASE_URL, REPO_ROOT } from "../../../sdk/test/support/stack";
import { cleanEnv, freePort, startProcess } from "../support";

/**
 * The three packages as npm would publish them: packed, installed from the tarballs into an empty
 * project outside the repository, and run from there (ESM and CommonJS, types included).
 */

const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), "aiffinity-pack-"));
const consumer = join(work, "consumer");
const env = cleanEnv(join(work, "config"));
let tarballs: Record<string, string>;

const npm = (args: string[], cwd: string) => run("npm", args, { cwd, env: { ...env, npm_config_fund: "false", npm_config_audit: "false", npm_config_loglevel: "error" }, maxBuffer: 16 * 1024 * 1024 });
const node = (args: string[], cwd: string) => run(process.execPath, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 });

beforeAll(async () => {
  const packed = await npm(["pack", "--json", "--pack-destination", work, "-w", "provider-sdk", "-w", "sdk", "-w", "cli"], REPO_ROOT);
  const results = JSON.parse(packed.stdout) as { name: string; filename: string; files: { path: string }[] }[];
  tarballs = Object.fromEntries(results.map((r) => [r.name, join(work, r.filename)]));
  // What each tarball holds: the build and the docs, never sources, tests or secrets.
  for (const r of results) {
    const paths = r.files.map((f) => f.path);
    expect(paths).toContain("package.json");
    expect(paths).toContain("README.md");
    expect(paths.some((p) => p.startsWith("src/") || p.startsWith("test/") || p.endsWith(".env"))).toBe(false);
  }
  expect(results.find((r) => r.name === "@aiffinity/cli")!.files.map((f) => f.path)).toEqual(expect.arrayContaining(["bin/aiffinity.js", "dist/main.js", "schema/aiffinity.schema.json"]));
  expect(results.find((r) => r.name === "@aiffinity/provider-sdk")!.files.map((f) => f.path)).toEqual(expect.arrayContaining(["dist/index.js", "template/aiffinity.json", "template/server.js", "template/gitignore"]));

  mkdirSync(consumer);
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true }));
  await npm(["install", "--prefer-offline", tarballs["@aiffinity/sdk"]!, tarballs["@aiffinity/provider-sdk"]!, tarballs["@aiffinity/cli"]!], consumer);
}, 180_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the packed packages", () => {
  it("the SDK works from ES modules and CommonJS, with its types", async () => {
    const esm = await node(["--input-type=module", "-e", `import { Aiffinity } from "@aiffinity/sdk"; const doc = await new Aiffinity({ baseUrl: "${BASE_URL}" }).get("/v1/openapi.json"); console.log(doc.openapi);`], consumer);
    expect(esm.stdout.trim()).toMatch(/^3\.1\./);
    const cjs = await node(["-e", `const { Aiffinity, AiffinityError } = require("@aiffinity/sdk"); new Aiffinity({ baseUrl: "${BASE_URL}" }).get("/v1/providers/apps").catch((e) => console.log(e instanceof AiffinityError, e.code));`], consumer);
    expect(cjs.stdout.trim()).toBe("true CLIENT_CONFIGURATION");

    // Both entry points' declarations: import (check.mts) and require (check.cts).
    const check = [
      'import { Aiffinity } from "@aiffinity/sdk";',
      "const client = new Aiffinity({ clientCredentials: { clientId: \"prov_x\", clientSecret: \"secret_x\" } });",
      'export const health = async (id: string) => (await client.get("/v1/providers/runtime/apps/{id}/health", { params: { path: { id } } })).status satisfies "healthy" | "degraded" | "unreachable";',
      "// @ts-expect-error the path parameter is required",
      'export const wrong = () => client.get("/v1/providers/runtime/apps/{id}/health");',
      "",
    ].join("\n");
    writeFileSync(join(consumer, "check.mts"), check);
    writeFileSync(join(consumer, "check.cts"), check);
    await node([join(REPO_ROOT, "node_modules/typescript/bin/tsc"), "--noEmit", "--strict", "--skipLibCheck", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--lib", "es2023,dom", "check.mts", "check.cts"], consumer);
  });

  it("the CLI runs, and its init makes a runtime that serves with the packed provider SDK", async () => {
    const bin = join(consumer, "node_modules/.bin/aiffinity");
    expect((await run(bin, ["--version"], { env })).stdout.trim()).toBe(JSON.parse(readFileSync(join(REPO_ROOT, "cli/package.json"), "utf8")).version);
    expect((await run(bin, ["--help"], { env })).stdout).toContain("publish");

    const port = await freePort();
    await run(bin, ["init", "runtime", "--slug", "packed-weather", "--port", String(port), "--no-install"], { cwd: work, env });
    const project = join(work, "runtime");
    expect(JSON.parse(readFileSync(join(project, "package.json"), "utf8")).dependencies["@aiffinity/provider-sdk"]).toBe("^0.1.0");
    await npm(["install", "--prefer-offline", tarballs["@aiffinity/provider-sdk"]!], project);
    const runtime = await startProcess(process.execPath, ["--env-file=.env", "server.js"], { cwd: project, env, ready: /listening on/ });
    try {
      const secrets = parseEnv(readFileSync(join(project, ".env"), "utf8"));
      const at = new Date();
      const headers = { "x-api-key": secrets.RUNTIME_API_KEY!, "webhook-id": "req_packed", "webhook-timestamp": String(Math.floor(at.getTime() / 1000)), "webhook-signature": new Webhook(secrets.AIFFINITY_SIGNING_SECRET!).sign("req_packed", at, "") };
      const health = await fetch(`http://127.0.0.1:${port}/health`, { headers });
      expect(await health.json()).toEqual(expect.objectContaining({ status: "ok", capabilities: ["weather_forecast"] }));
      expect((await fetch(`http://127.0.0.1:${port}/health`, { headers: { "x-api-key": secrets.RUNTIME_API_KEY! } })).status).toBe(401); // unsigned
    } finally {
      await runtime.stop();
    }
  });
});

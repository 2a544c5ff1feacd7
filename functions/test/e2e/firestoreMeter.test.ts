import { endUser, INSTALLS, MARKETPLACE, seedListing, uniqueWord } from "../helpers/catalog";
import { api, expectStatus } from "../helpers/http";
import { loadLocalSecretsIntoEnv } from "../helpers/secrets";
import { type SurfaceProcess, startSurfaceProcesses, stopSurfaceProcesses } from "../helpers/surfaceProcesses";

loadLocalSecretsIntoEnv();

const opsOf = (header: string | null) => {
  const match = /^reads=(\d+); writes=(\d+)$/.exec(header ?? "");
  if (!match) throw new Error(`X-Firestore-Ops is ${JSON.stringify(header)}`);
  return { reads: Number(match[1]), writes: Number(match[2]) };
};

/** FIRESTORE_METER=1 (npm run bench, npm run load): each answer says what it cost in Firestore. */
describe("the Firestore cost meter", () => {
  let metered: SurfaceProcess[] = [];
  beforeAll(async () => {
    metered = [
      ...(await startSurfaceProcesses(1, { surface: "catalog", limits: false, meter: true })),
      ...(await startSurfaceProcesses(1, { surface: "catalog", meter: true })),
    ];
  });
  afterAll(() => stopSurfaceProcesses(metered));

  it("counts a read route's document reads and no writes", async () => {
    const user = await endUser();
    const packageId = await seedListing({ name: `Metered ${uniqueWord()}` });
    const installs = await api.get(INSTALLS, { token: user.token, baseUrl: metered[0]!.url });
    expectStatus(200, installs);
    // An empty query is billed one read, and so is its count.
    expect(opsOf(installs.headers.get("x-firestore-ops"))).toEqual({ reads: 2, writes: 0 });
    const listing = await api.get(`${MARKETPLACE}/${packageId}`, { token: user.token, baseUrl: metered[0]!.url });
    expectStatus(200, listing);
    const ops = opsOf(listing.headers.get("x-firestore-ops"));
    expect(ops.reads).toBeGreaterThanOrEqual(1);
    expect(ops.writes).toBe(0);
  });

  it("counts the rate limiter's lease on the free tier as one write", async () => {
    const user = await endUser();
    const res = await api.get(INSTALLS, { token: user.token, baseUrl: metered[1]!.url });
    expectStatus(200, res);
    expect(opsOf(res.headers.get("x-firestore-ops"))).toEqual({ reads: 2, writes: 1 });
  });

  it("is off unless asked for", async () => {
    const user = await endUser();
    const res = await api.get(INSTALLS, { token: user.token });
    expectStatus(200, res);
    expect(res.headers.get("x-firestore-ops")).toBeNull();
  });
});

import { api, expectError, expectStatus, request } from "../helpers/http";
import { useSampleProvider } from "../helpers/packages";
import { CAPABILITIES, publishedPackage } from "../helpers/quality";
import { oauthProvider } from "../helpers/stories";
import { expiredAccessToken } from "../helpers/tokens";

/** The three Certification routes of the Capabilities API, fed bad credentials and bad queries. */
describe("Capabilities API, certification routes: bad input", () => {
  const sample = useSampleProvider();
  let owner: Awaited<ReturnType<typeof publishedPackage>>;
  let intruder: Awaited<ReturnType<typeof oauthProvider>>;
  beforeAll(async () => {
    owner = await publishedPackage(sample(), "Guarded Weather Ltd");
    intruder = await oauthProvider("Nosy Parker Ltd");
  });

  const ROUTES = ["baselines", "certification", "alerts"].map((r) => `${CAPABILITIES}/${r}`);

  it.each(ROUTES)("%s requires a valid, unexpired access token of an app", async (path) => {
    const missing = await api.get(path);
    expectError(missing, 401, "UNAUTHENTICATED");
    expect(missing.headers.get("www-authenticate")).toBe('Bearer realm="aiffinity"');
    const invalid = await api.get(path, { token: "eyJhbGciOiJSUzI1NiJ9.e30.c2ln" });
    expectError(invalid, 401, "UNAUTHENTICATED");
    expect(invalid.headers.get("www-authenticate")).toMatch(/error="invalid_token"/);
    const expired = await api.get(path, { token: await expiredAccessToken(owner.access) });
    expect(expectError(expired, 401, "UNAUTHENTICATED").message).toMatch(/expired/);
    // A console (Firebase ID) token is not an access token.
    expectError(await api.get(path, { token: owner.token }), 401, "UNAUTHENTICATED");
    // The same request with the app's token passes: the refusals above are not vacuous.
    expectStatus(200, await api.get(path, { token: owner.access }));
  });

  it.each(ROUTES)("%s answers wrong-typed and unknown query parameters with 400 naming them", async (path) => {
    for (const query of ["limit=0", "limit=abc", "limit=101", "offset=-1"]) {
      expect(expectError(await api.get(`${path}?${query}`, { token: owner.access }), 400, "VALIDATION_ERROR").message).toMatch(
        /^query\.(limit|offset): /,
      );
    }
    expect(expectError(await api.get(`${path}?surprise=1`, { token: owner.access }), 400, "VALIDATION_ERROR").message).toBe(
      "query.surprise: Unknown field",
    );
  });

  it("validates each route's filters", async () => {
    const bad: [string, string][] = [
      ["alerts?status=lost", "query.status"],
      ["alerts?severity=fatal", "query.severity"],
      ["alerts?sevrity=critical", "query.sevrity"],
      ["certification?tier=gold", "query.tier"],
      ["certification?packageId=pkg_short", "query.packageId"],
      ["baselines?packageId=nope", "query.packageId"],
      ["baselines?capability=NoDotHere", "query.capability"],
      ["baselines?series=hourly", "query.series"],
    ];
    for (const [path, field] of bad) {
      expect(expectError(await api.get(`${CAPABILITIES}/${path}`, { token: owner.access }), 400, "VALIDATION_ERROR").message).toMatch(
        new RegExp(`^${field.replace(".", "\\.")}: `),
      );
    }
  });

  it("shows another account nothing, and answers its ids with 404", async () => {
    for (const path of ROUTES) expect((await api.get(path, { token: intruder.access })).body.data).toEqual([]);
    expectError(await api.get(`${CAPABILITIES}/baselines?packageId=${owner.packageId}`, { token: intruder.access }), 404, "NOT_FOUND");
    expectError(await api.get(`${CAPABILITIES}/baselines?capability=${owner.ref}`, { token: intruder.access }), 404, "NOT_FOUND");
    expectError(await api.get(`${CAPABILITIES}/certification?packageId=${owner.packageId}`, { token: intruder.access }), 404, "NOT_FOUND");
    // The owner sees its package.
    expect((await api.get(`${CAPABILITIES}/certification?packageId=${owner.packageId}`, { token: owner.access })).body.data).toHaveLength(1);
  });

  it.each(ROUTES)("%s takes GET only (405 with Allow)", async (path) => {
    const res = await request("POST", path, { token: owner.access, body: {} });
    expectError(res, 405, "METHOD_NOT_ALLOWED");
    expect(res.headers.get("allow")).toBe("GET, HEAD, OPTIONS");
  });
});

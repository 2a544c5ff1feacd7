import { weatherForecast } from "../helpers/descriptors";
import { type BodyCase, describeBodyChecks } from "../helpers/badInput";
import { api, expectStatus } from "../helpers/http";
import { createPackage, MANAGE, packageBody, REVIEWS, versionPath } from "../helpers/packages";
import { createApp, reviewer, verifiedProvider } from "../helpers/stories";
import { expiredIdToken } from "../helpers/tokens";

/**
 * Every Package Management route with a body, fed the same bad inputs: each must answer the
 * documented error in the envelope and write nothing.
 */
describe("Package Management: bad input on every route", () => {
  let token: string;
  let reviewerToken: string;
  let appId: string;
  let packageId: string;
  let versionId: string;
  beforeAll(async () => {
    token = (await verifiedProvider()).token;
    reviewerToken = (await reviewer()).token;
    appId = (await createApp(token)).id;
    ({ id: packageId, versionId } = await createPackage(token, appId));
  });

  const review = "rev_00000000000000000000";
  const as = (who: "provider" | "reviewer") => () => (who === "provider" ? token : reviewerToken);
  const cases: Record<string, BodyCase> = {
    "POST /manage": { method: "POST", path: () => MANAGE, token: as("provider"), valid: () => packageBody(appId), wrongType: { riskTier: 3 } },
    "PATCH /manage/:id": {
      method: "PATCH",
      path: () => `${MANAGE}/${packageId}`,
      token: as("provider"),
      valid: () => ({ name: "A" }),
      wrongType: { images: { screenshots: "x" } },
    },
    "POST /manage/:id/deprecate": {
      method: "POST",
      path: () => `${MANAGE}/${packageId}/deprecate`,
      token: as("provider"),
      valid: () => ({ reason: "old" }),
      wrongType: { reason: false },
    },
    "POST /manage/:id/versions": {
      method: "POST",
      path: () => `${MANAGE}/${packageId}/versions`,
      token: as("provider"),
      valid: () => ({ capabilities: [weatherForecast()] }),
      wrongType: { changelog: [] },
    },
    "PATCH /versions/:vid": {
      method: "PATCH",
      path: () => versionPath(packageId, versionId),
      token: as("provider"),
      valid: () => ({ changelog: "x" }),
      wrongType: { riskTier: {} },
    },
    "POST /versions/:vid/rollback": {
      method: "POST",
      path: () => `${versionPath(packageId, versionId)}/rollback`,
      token: as("provider"),
      valid: () => ({ reason: "x" }),
      wrongType: { reason: 1 },
      bodyOptional: true,
    },
    "POST /versions/:vid/deprecate": {
      method: "POST",
      path: () => `${versionPath(packageId, versionId)}/deprecate`,
      token: as("provider"),
      valid: () => ({ reason: "x" }),
      wrongType: { successorVersionId: 5 },
    },
    "POST /reviews/:id/approve": {
      method: "POST",
      path: () => `${REVIEWS}/${review}/approve`,
      token: as("reviewer"),
      valid: () => ({ notes: "ok" }),
      wrongType: { notes: ["ok"] },
      bodyOptional: true,
    },
    "POST /reviews/:id/reject": {
      method: "POST",
      path: () => `${REVIEWS}/${review}/reject`,
      token: as("reviewer"),
      valid: () => ({ reasons: [{ message: "no" }] }),
      wrongType: { reasons: { message: "no" } },
    },
  };
  for (const c of Object.values(cases)) c.badTokens = () => [expiredIdToken(c.token()!)];
  describeBodyChecks(cases);

  it("left the package and its version untouched by all of the above", async () => {
    const res = await api.get(`${MANAGE}/${packageId}`, { token });
    expectStatus(200, res);
    expect(res.body.data).toEqual(expect.objectContaining({ name: "Acme Weather", status: "draft", latestVersion: "1.0.0", deprecation: null }));
    expect(res.body.data.versions).toEqual([
      expect.objectContaining({ id: versionId, state: "draft", changelog: null, history: [expect.objectContaining({ to: "draft" })] }),
    ]);
  });
});

import { weatherForecast } from "../helpers/descriptors";
import { api, expectError, expectStatus, request } from "../helpers/http";
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

  type Case = {
    method: "POST" | "PATCH";
    path: () => string;
    as: "provider" | "reviewer";
    valid: () => Record<string, unknown>;
    wrongType: Record<string, unknown>;
    /** Routes whose fields are all optional accept a missing body as `{}`. */
    bodyOptional?: boolean;
  };
  const review = "rev_00000000000000000000";
  const cases: Record<string, Case> = {
    "POST /manage": { method: "POST", path: () => MANAGE, as: "provider", valid: () => packageBody(appId), wrongType: { riskTier: 3 } },
    "PATCH /manage/:id": { method: "PATCH", path: () => `${MANAGE}/${packageId}`, as: "provider", valid: () => ({ name: "A" }), wrongType: { images: { screenshots: "x" } } },
    "POST /manage/:id/deprecate": { method: "POST", path: () => `${MANAGE}/${packageId}/deprecate`, as: "provider", valid: () => ({ reason: "old" }), wrongType: { reason: false } },
    "POST /manage/:id/versions": { method: "POST", path: () => `${MANAGE}/${packageId}/versions`, as: "provider", valid: () => ({ capabilities: [weatherForecast()] }), wrongType: { changelog: [] } },
    "PATCH /versions/:vid": { method: "PATCH", path: () => versionPath(packageId, versionId), as: "provider", valid: () => ({ changelog: "x" }), wrongType: { riskTier: {} } },
    "POST /versions/:vid/rollback": { method: "POST", path: () => `${versionPath(packageId, versionId)}/rollback`, as: "provider", valid: () => ({ reason: "x" }), wrongType: { reason: 1 }, bodyOptional: true },
    "POST /versions/:vid/deprecate": { method: "POST", path: () => `${versionPath(packageId, versionId)}/deprecate`, as: "provider", valid: () => ({ reason: "x" }), wrongType: { successorVersionId: 5 } },
    "POST /reviews/:id/approve": { method: "POST", path: () => `${REVIEWS}/${review}/approve`, as: "reviewer", valid: () => ({ notes: "ok" }), wrongType: { notes: ["ok"] }, bodyOptional: true },
    "POST /reviews/:id/reject": { method: "POST", path: () => `${REVIEWS}/${review}/reject`, as: "reviewer", valid: () => ({ reasons: [{ message: "no" }] }), wrongType: { reasons: { message: "no" } } },
  };

  describe.each(Object.entries(cases))("%s", (_name, c) => {
    const tokenOf = () => (c.as === "provider" ? token : reviewerToken);
    const send = (body: { raw?: string; json?: unknown }) =>
      request(c.method, c.path(), {
        token: tokenOf(),
        ...(body.raw !== undefined ? { raw: body.raw, headers: { "content-type": "application/json" } } : { body: body.json }),
      });

    it("answers malformed JSON with 400 INVALID_JSON", async () => {
      expectError(await send({ raw: '{"oops": ' }), 400, "INVALID_JSON");
    });

    it("answers a wrong-typed field with 400 naming it", async () => {
      const error = expectError(await send({ json: { ...c.valid(), ...c.wrongType } }), 400, "VALIDATION_ERROR");
      expect(error.message).toContain(Object.keys(c.wrongType)[0]!);
    });

    it("answers an unknown field with 400 naming it", async () => {
      const error = expectError(await send({ json: { ...c.valid(), surprise: 1 } }), 400, "VALIDATION_ERROR");
      expect(error.message).toContain("surprise: Unknown field");
    });

    if (!c.bodyOptional) {
      it("answers a missing body with 400", async () => {
        expectError(await send({ json: undefined }), 400, "VALIDATION_ERROR");
      });
    }

    it("answers an oversized body with 413", async () => {
      expectError(await send({ json: { ...c.valid(), padding: "x".repeat(1_200_000) } }), 413, "PAYLOAD_TOO_LARGE");
    });

    it("answers another media type with 415", async () => {
      const res = await request(c.method, c.path(), { token: tokenOf(), raw: "reason=x", headers: { "content-type": "application/x-www-form-urlencoded" } });
      expectError(res, 415, "UNSUPPORTED_MEDIA_TYPE");
    });

    it("answers a missing token with 401 and an expired one with 401 invalid_token", async () => {
      expectError(await request(c.method, c.path(), { body: c.valid() }), 401, "UNAUTHENTICATED");
      const expired = await request(c.method, c.path(), { body: c.valid(), token: expiredIdToken(tokenOf()) });
      expectError(expired, 401, "UNAUTHENTICATED");
      expect(expired.headers.get("www-authenticate")).toContain('error="invalid_token"');
    });
  });

  it("left the package and its version untouched by all of the above", async () => {
    const res = await api.get(`${MANAGE}/${packageId}`, { token });
    expectStatus(200, res);
    expect(res.body.data).toEqual(expect.objectContaining({ name: "Acme Weather", status: "draft", latestVersion: "1.0.0", deprecation: null }));
    expect(res.body.data.versions).toEqual([expect.objectContaining({ id: versionId, state: "draft", changelog: null, history: [expect.objectContaining({ to: "draft" })] })]);
  });
});

import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import { BASE_URL } from "../helpers/env";
import { api, type ApiResponse, expectError, expectStatus, request } from "../helpers/http";
import { localSigningKeys } from "../helpers/secrets";
import { accessToken, createApp, oauthProvider, verifiedProvider } from "../helpers/stories";
import { forgeAccessToken } from "../helpers/tokens";

const TOKEN = "/v1/providers/auth/token";
const PROTECTED = "/v1/providers/runtime/apps";

const form = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
  request("POST", TOKEN, {
    raw: new URLSearchParams(fields).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  });
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;

/** The OAuth error format (RFC 6749 §5.2), never the envelope, on the token endpoint. */
function expectOAuthError(res: ApiResponse, status: number, error: string) {
  expectStatus(status, res);
  expect(res.body).toEqual({ error, error_description: expect.any(String) });
  expect(res.headers.get("x-request-id")).toMatch(/^req_/);
  return res.body.error_description as string;
}

describe("OAuth 2.1 token endpoint", () => {
  let app: { id: string; client_id: string; client_secret: string };
  let accountId: string;
  beforeAll(async () => {
    const provider = await verifiedProvider();
    accountId = provider.accountId;
    app = await createApp(provider.token);
  });

  it("issues an RS256 JWT for JSON client credentials, verifiable through the JWKS", async () => {
    const res = await api.post(TOKEN, { grant_type: "client_credentials", client_id: app.client_id, client_secret: app.client_secret });
    expectStatus(200, res);
    expect(res.body).toEqual({ access_token: expect.any(String), token_type: "Bearer", expires_in: 3600 });
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("pragma")).toBe("no-cache");

    const token = res.body.access_token as string;
    const header = decodeProtectedHeader(token);
    expect(header).toEqual({ alg: "RS256", kid: expect.any(String), typ: "at+jwt" });
    const jwks = await api.get("/v1/providers/auth/jwks");
    expectStatus(200, jwks);
    expect(jwks.headers.get("content-type")).toMatch(/^application\/json/);
    expect(jwks.body.keys.map((k: { kid: string }) => k.kid)).toContain(header.kid);
    for (const key of jwks.body.keys) {
      expect(key).toEqual({ kty: "RSA", kid: expect.any(String), alg: "RS256", use: "sig", n: expect.any(String), e: "AQAB" });
      expect(key).not.toHaveProperty("d"); // public parts only
    }

    const claims = decodeJwt(token);
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${BASE_URL}/v1/providers/auth/jwks`)), {
      issuer: claims.iss!,
      audience: `${claims.iss}/v1/providers`,
      algorithms: ["RS256"],
    });
    expect(payload).toEqual({
      iss: expect.stringMatching(/^https?:\/\//),
      aud: `${claims.iss}/v1/providers`,
      sub: app.id,
      client_id: app.client_id,
      account_id: accountId,
      iat: expect.any(Number),
      exp: (payload.iat as number) + 3600,
      jti: expect.stringMatching(/^tok_[0-9A-Za-z]{20}$/),
    });
    expect(Math.abs((payload.iat as number) - Date.now() / 1000)).toBeLessThan(60);

    // And it opens the provider APIs.
    expectStatus(200, await api.get(PROTECTED, { token }));
  });

  it("accepts form-encoded credentials in the body or in HTTP Basic", async () => {
    const inBody = await form({ grant_type: "client_credentials", client_id: app.client_id, client_secret: app.client_secret });
    expectStatus(200, inBody);
    expect(inBody.body.token_type).toBe("Bearer");
    const inBasic = await form({ grant_type: "client_credentials" }, { authorization: basic(app.client_id, app.client_secret) });
    expectStatus(200, inBasic);
    expectStatus(200, await api.get(PROTECTED, { token: inBasic.body.access_token }));
    // client_id may repeat in the body alongside Basic, and unknown parameters are ignored (RFC 6749 §3.2).
    const withExtras = await form(
      { grant_type: "client_credentials", client_id: app.client_id, audience: "x" },
      { authorization: basic(app.client_id, app.client_secret) },
    );
    expectStatus(200, withExtras);
    const jsonExtra = await api.post(TOKEN, {
      grant_type: "client_credentials",
      client_id: app.client_id,
      client_secret: app.client_secret,
      resource: "x",
    });
    expectStatus(200, jsonExtra);
  });

  it("answers every OAuth error in the OAuth format", async () => {
    const good = { grant_type: "client_credentials", client_id: app.client_id, client_secret: app.client_secret };
    expect(expectOAuthError(await api.post(TOKEN, { client_id: app.client_id, client_secret: app.client_secret }), 400, "invalid_request")).toMatch(
      /grant_type/,
    );
    expectOAuthError(await api.post(TOKEN, { ...good, grant_type: "password" }), 400, "unsupported_grant_type");
    expectOAuthError(await api.post(TOKEN, { ...good, grant_type: "authorization_code" }), 400, "unsupported_grant_type");
    expectOAuthError(await api.post(TOKEN, { ...good, scope: "admin" }), 400, "invalid_scope");

    const missing = await api.post(TOKEN, { grant_type: "client_credentials" });
    expectOAuthError(missing, 401, "invalid_client");
    expect(missing.headers.get("www-authenticate")).toMatch(/^Basic realm="aiffinity"/);
    const wrongSecret = await api.post(TOKEN, { ...good, client_secret: "secret_wrong" });
    expectOAuthError(wrongSecret, 401, "invalid_client");
    expect(wrongSecret.headers.get("www-authenticate")).toMatch(/^Basic /);
    expectOAuthError(await api.post(TOKEN, { ...good, client_id: "prov_00000000000000000000" }), 401, "invalid_client");
    const wrongBasic = await form({ grant_type: "client_credentials" }, { authorization: basic(app.client_id, "nope") });
    expectOAuthError(wrongBasic, 401, "invalid_client");
    expect(wrongBasic.headers.get("www-authenticate")).toMatch(/^Basic realm="aiffinity"/);
    expectOAuthError(await form({ grant_type: "client_credentials" }, { authorization: "Basic !!!" }), 401, "invalid_client");
    expectOAuthError(await form({ grant_type: "client_credentials" }, { authorization: "Bearer abc" }), 401, "invalid_client");
    // Credentials in two places at once.
    expectOAuthError(await form({ ...good }, { authorization: basic(app.client_id, app.client_secret) }), 400, "invalid_request");
    expectOAuthError(
      await form({ grant_type: "client_credentials", client_id: "prov_other" }, { authorization: basic(app.client_id, app.client_secret) }),
      400,
      "invalid_request",
    );
  });

  it("answers the kernel's body checks in the OAuth format too", async () => {
    const malformed = await request("POST", TOKEN, { raw: '{"grant_type": "client_credentials",', headers: { "content-type": "application/json" } });
    expect(expectOAuthError(malformed, 400, "invalid_request")).toMatch(/not valid JSON/);
    expectOAuthError(
      await request("POST", TOKEN, { raw: "grant_type=client_credentials", headers: { "content-type": "text/plain" } }),
      415,
      "invalid_request",
    );
    expect(
      expectOAuthError(await api.post(TOKEN, { grant_type: "client_credentials", client_id: 42, client_secret: true }), 400, "invalid_request"),
    ).toMatch(/client_id/);
    expectOAuthError(await api.post(TOKEN, ["client_credentials"]), 400, "invalid_request");
    expectOAuthError(await api.post(TOKEN, undefined), 400, "invalid_request");
    expectOAuthError(await api.post(TOKEN, { grant_type: "client_credentials", client_id: "x".repeat(20_000) }), 413, "invalid_request");
    // A repeated form parameter is an error (RFC 6749 §3.2).
    const repeated = await request("POST", TOKEN, {
      raw: `grant_type=client_credentials&client_id=${app.client_id}&client_id=${app.client_id}&client_secret=${app.client_secret}`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expectOAuthError(repeated, 400, "invalid_request");
    const wrongMethod = await api.get(TOKEN);
    expectOAuthError(wrongMethod, 405, "invalid_request");
    expect(wrongMethod.headers.get("allow")).toBe("POST, OPTIONS");
  });

  it("throttles repeated failures for one client_id, even with the right secret afterwards", async () => {
    const provider = await verifiedProvider();
    const victim = await createApp(provider.token);
    const attempt = (secret: string) => api.post(TOKEN, { grant_type: "client_credentials", client_id: victim.client_id, client_secret: secret });
    for (let i = 1; i < 10; i++) expectOAuthError(await attempt(`secret_guess${i}`), 401, "invalid_client");
    const blocked = await attempt("secret_guess10");
    expectOAuthError(blocked, 429, "temporarily_unavailable");
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(800);
    expectOAuthError(await attempt(victim.client_secret), 429, "temporarily_unavailable");
    // Another client is unaffected.
    expectStatus(200, await api.post(TOKEN, { grant_type: "client_credentials", client_id: app.client_id, client_secret: app.client_secret }));
  });

  it("stops a deleted app's tokens at once", async () => {
    const { token, app: doomed, access } = await oauthProvider();
    expectStatus(200, await api.get(PROTECTED, { token: access }));
    expectStatus(200, await api.delete(`/v1/providers/apps/${doomed.id}`, { token }));
    const res = await api.get(PROTECTED, { token: access });
    expectError(res, 401, "UNAUTHENTICATED");
    expect(res.headers.get("www-authenticate")).toMatch(/error="invalid_token"/);
    expectOAuthError(
      await api.post(TOKEN, { grant_type: "client_credentials", client_id: doomed.client_id, client_secret: doomed.client_secret }),
      401,
      "invalid_client",
    );
  });

  it("keeps tokens issued before a client secret rotation valid until they expire", async () => {
    const { token, app: rotated, access } = await oauthProvider();
    expectStatus(200, await api.post(`/v1/providers/apps/${rotated.id}/rotate-secret`, undefined, { token }));
    expectStatus(200, await api.get(PROTECTED, { token: access }));
    expectOAuthError(
      await api.post(TOKEN, { grant_type: "client_credentials", client_id: rotated.client_id, client_secret: rotated.client_secret }),
      401,
      "invalid_client",
    );
  });
});

describe("bearer authentication of the provider APIs", () => {
  let access: string;
  let idToken: string;
  const keys = localSigningKeys();
  const active = keys.find((k) => !k.retiredAt)!;
  const retired = keys.find((k) => k.retiredAt)!;

  beforeAll(async () => {
    const provider = await oauthProvider();
    access = provider.access;
    idToken = provider.token;
  });

  /** A token like the API's own, signed with a key from the local secrets, with overrides. */
  const forge = (key: { kid: string; pem: string }, overrides: { iat?: number; exp?: number; aud?: string; typ?: string } = {}) =>
    forgeAccessToken(access, key, overrides);

  const expectInvalidToken = async (token: string, message: RegExp) => {
    const res = await api.get(PROTECTED, { token });
    expect(expectError(res, 401, "UNAUTHENTICATED").message).toMatch(message);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="aiffinity", error="invalid_token"/);
  };

  it("asks for a bearer token when none is sent", async () => {
    const res = await api.get(PROTECTED);
    expectError(res, 401, "UNAUTHENTICATED");
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="aiffinity"');
    const wrongScheme = await api.get(PROTECTED, { headers: { authorization: "Basic abc" } });
    expectError(wrongScheme, 401, "UNAUTHENTICATED");
  });

  it("refuses malformed, expired, foreign and mis-addressed tokens with invalid_token", async () => {
    await expectInvalidToken("not-a-jwt", /malformed or invalid/);
    await expectInvalidToken(`${access.slice(0, -4)}AAAA`, /malformed or invalid/);
    const longAgo = Math.floor(Date.now() / 1000) - 7200;
    await expectInvalidToken(await forge(active, { iat: longAgo, exp: longAgo + 3600 }), /expired/);
    await expectInvalidToken(await forge({ kid: "someone-else", pem: active.pem }), /unknown key/);
    await expectInvalidToken(await forge(active, { aud: "https://elsewhere.example" }), /malformed or invalid/);
    await expectInvalidToken(await forge(active, { typ: "JWT" }), /malformed or invalid/);
    // A Firebase ID token is not an access token.
    await expectInvalidToken(idToken, /malformed or invalid|unknown key/);
    // And a well-formed token of ours still passes: the checks above are not vacuous.
    expectStatus(200, await api.get(PROTECTED, { token: await forge(active) }));
  });

  it("keeps verifying a retired key's tokens until they expire, and refuses it anything newer", async () => {
    expect(retired).toBeDefined();
    const retiredAt = Math.floor(new Date(retired.retiredAt!).getTime() / 1000);
    const jwks = await api.get("/v1/providers/auth/jwks");
    expect(jwks.body.keys.map((k: { kid: string }) => k.kid).sort()).toEqual([active.kid, retired.kid].sort());
    // New tokens come from the active key.
    expect(decodeProtectedHeader(access).kid).toBe(active.kid);
    // Signed before retirement and unexpired: still accepted.
    expectStatus(200, await api.get(PROTECTED, { token: await forge(retired, { iat: retiredAt - 60 }) }));
    // Claiming to be signed after retirement: refused.
    await expectInvalidToken(await forge(retired, { iat: retiredAt + 5 }), /retired key/);
  });
});

describe("OAuth and rate limit headers", () => {
  it("counts token requests per client IP", async () => {
    const { app } = await oauthProvider();
    const res = await api.post(TOKEN, { grant_type: "client_credentials", client_id: app.client_id, client_secret: app.client_secret });
    expectStatus(200, res);
    expect(res.headers.get("ratelimit-policy")).toMatch(/^"anonymous";q=\d+;w=60$/);
    expect(Number(res.headers.get("x-ratelimit-limit"))).toBeGreaterThan(0);
    expect(await accessToken(app.client_id, app.client_secret)).toEqual(expect.any(String));
  });
});

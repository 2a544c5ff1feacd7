import { adminAuth, adminDb } from "../helpers/admin";
import { api, expectError, expectStatus } from "../helpers/http";
import { login, mailsTo, PASSWORD, signInDirect, signUp, tokenFromMail, uniqueEmail, verifiedProvider } from "../helpers/stories";
import { createHash } from "node:crypto";
import { expiredIdToken } from "../helpers/tokens";

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

describe("developer account story", () => {
  it("signs up, reads the verification mail, verifies, logs in and uses the token", async () => {
    const email = uniqueEmail();
    const created = await api.post("/v1/providers/account", { company_name: "Acme Weather Ltd", email, password: PASSWORD });
    expectStatus(201, created);
    expect(created.body.meta.requestId).toMatch(/^req_/);
    expect(created.headers.get("x-request-id")).toBe(created.body.meta.requestId);
    const account = created.body.data;
    expect(account).toEqual({
      id: expect.any(String),
      company_name: "Acme Weather Ltd",
      email,
      contact_email: email,
      email_verified: false,
      status: "pending_verification",
      plan_tier: "free",
      rate_limit_per_minute: 100,
      notification_preferences: { review_updates: true, quality_alerts: true, webhook_failures: true, product_news: false },
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updated_at: expect.any(String),
    });
    expect(created.text).not.toContain(PASSWORD);

    // The Auth user exists, unverified.
    const user = await adminAuth().getUserByEmail(email);
    expect(user.uid).toBe(account.id);
    expect(user.emailVerified).toBe(false);

    // The mail is in the Trigger Email extension's format; the token is stored only as a hash.
    const [mail] = await mailsTo(email);
    expect(mail).toEqual(
      expect.objectContaining({
        to: email,
        message: expect.objectContaining({ subject: expect.any(String), text: expect.any(String), html: expect.any(String) }),
      }),
    );
    const token = tokenFromMail(mail!);
    expect(mail!.message.html).toContain(token);
    const stored = await adminDb().collection("verificationTokens").doc(sha256(token)).get();
    expect(stored.exists).toBe(true);
    expect(JSON.stringify(stored.data())).not.toContain(token);
    const expiresAt = stored.get("expiresAt").toMillis() - stored.get("createdAt").toMillis();
    expect(expiresAt).toBe(24 * 3600 * 1000);

    // Logging in before verification works; apps need a verified account.
    const early = await login(email);
    expectError(await api.post("/v1/providers/apps", { name: "x" }, { token: early }), 403, "ACCOUNT_NOT_VERIFIED");

    const verified = await api.post("/v1/providers/account/verify", { token });
    expectStatus(200, verified);
    expect(verified.body.data).toEqual(expect.objectContaining({ id: account.id, status: "active", email_verified: true }));
    expect((await adminAuth().getUser(account.id)).emailVerified).toBe(true);

    const idToken = await login(email);
    const me = await api.get("/v1/providers/account", { token: idToken });
    expectStatus(200, me);
    expect(me.body.data).toEqual(expect.objectContaining({ id: account.id, status: "active", email_verified: true }));
    expect(me.headers.get("cache-control")).toBe("no-store");
  });

  it("rejects a duplicate e-mail with 409 and leaves the first account intact", async () => {
    const { email, account } = await signUp();
    const again = await api.post("/v1/providers/account", { company_name: "Other", email: email.toUpperCase(), password: PASSWORD });
    expectError(again, 409, "CONFLICT");
    const doc = await adminDb().collection("accounts").doc(account.id).get();
    expect(doc.get("companyName")).toBe("Acme Weather Ltd");
  });

  it.each([
    ["too short", "short1!"],
    ["letters only", "onlylettershere"],
    ["too common", "password123"],
    ["contains the e-mail", "{local}-2024!"],
  ])("rejects a weak password (%s) with 400 WEAK_PASSWORD and creates nothing", async (_label, template) => {
    const email = uniqueEmail("weakpw");
    const password = template.replace("{local}", email.split("@")[0]!);
    const res = await api.post("/v1/providers/account", { company_name: "Acme", email, password });
    const error = expectError(res, 400, "WEAK_PASSWORD");
    expect(error.message).toMatch(/^password: /);
    await expect(adminAuth().getUserByEmail(email)).rejects.toMatchObject({ code: "auth/user-not-found" });
    expect(await mailsTo(email)).toHaveLength(0);
  });

  describe("verification tokens", () => {
    it("are single use", async () => {
      const { email } = await signUp();
      const token = tokenFromMail((await mailsTo(email))[0]!);
      expectStatus(200, await api.post("/v1/providers/account/verify", { token }));
      expectError(await api.post("/v1/providers/account/verify", { token }), 409, "VERIFICATION_TOKEN_USED");
    });

    it("reject unknown tokens", async () => {
      expectError(await api.post("/v1/providers/account/verify", { token: "vt_doesnotexist" }), 400, "VERIFICATION_TOKEN_INVALID");
    });

    it("expire after 24 hours", async () => {
      const { email, account } = await signUp();
      const token = tokenFromMail((await mailsTo(email))[0]!);
      // Age the stored token instead of waiting a day.
      const ref = adminDb().collection("verificationTokens").doc(sha256(token));
      const created = (await ref.get()).get("createdAt").toDate() as Date;
      await ref.update({ createdAt: new Date(created.getTime() - 86_400_000), expiresAt: new Date(Date.now() - 1000) });
      expectError(await api.post("/v1/providers/account/verify", { token }), 400, "VERIFICATION_TOKEN_EXPIRED");
      expect((await adminDb().collection("accounts").doc(account.id).get()).get("status")).toBe("pending_verification");
    });

    it("can be sent again; the answer never reveals whether the address exists", async () => {
      const { email } = await signUp();
      const resent = await api.post("/v1/providers/account/verify/resend", { email });
      expectStatus(202, resent);
      const unknown = await api.post("/v1/providers/account/verify/resend", { email: uniqueEmail("nobody") });
      expectStatus(202, unknown);
      expect(unknown.body.data).toEqual(resent.body.data);
      const mails = await mailsTo(email);
      expect(mails).toHaveLength(2);
      const newest = tokenFromMail(mails[0]!);
      expect(newest).not.toBe(tokenFromMail(mails[1]!));
      expectStatus(200, await api.post("/v1/providers/account/verify", { token: newest }));
      // Once verified, an older token is refused and no more mails are sent.
      expectError(await api.post("/v1/providers/account/verify", { token: tokenFromMail(mails[1]!) }), 409, "ACCOUNT_ALREADY_VERIFIED");
      expectStatus(202, await api.post("/v1/providers/account/verify/resend", { email }));
      expect(await mailsTo(email)).toHaveLength(2);
    });
  });

  describe("login", () => {
    it("answers wrong passwords and unknown e-mails the same way", async () => {
      const { email } = await signUp();
      const wrong = await api.post("/v1/providers/account/login", { email, password: "not-the-password-1" });
      const unknown = await api.post("/v1/providers/account/login", { email: uniqueEmail("ghost"), password: "whatever-it-is-1" });
      const a = expectError(wrong, 401, "INVALID_CREDENTIALS");
      const b = expectError(unknown, 401, "INVALID_CREDENTIALS");
      expect(a.message).toBe(b.message);
    });

    it("throttles repeated failures for one e-mail, even with the right password", async () => {
      const { email } = await signUp();
      for (let i = 0; i < 4; i++) {
        expectError(await api.post("/v1/providers/account/login", { email, password: `wrong-password-${i}` }), 401, "INVALID_CREDENTIALS");
      }
      const fifth = await api.post("/v1/providers/account/login", { email, password: "wrong-password-5" });
      expectError(fifth, 429, "RATE_LIMITED");
      expect(Number(fifth.headers.get("retry-after"))).toBeGreaterThan(0);
      const correct = await api.post("/v1/providers/account/login", { email, password: PASSWORD });
      expectError(correct, 429, "RATE_LIMITED");
      // Another address is unaffected.
      const other = await signUp();
      expectStatus(200, await api.post("/v1/providers/account/login", { email: other.email, password: PASSWORD }));
    });

    it("returns a refresh token that yields a new ID token", async () => {
      const { email } = await signUp();
      const res = await api.post("/v1/providers/account/login", { email, password: PASSWORD });
      expectStatus(200, res);
      expect(res.body.data).toEqual({
        id_token: expect.any(String),
        refresh_token: expect.any(String),
        expires_in: 3600,
        token_type: "Bearer",
        account_id: expect.any(String),
      });
      const refreshed = await api.post("/v1/providers/account/refresh", { refresh_token: res.body.data.refresh_token });
      expectStatus(200, refreshed);
      expectStatus(200, await api.get("/v1/providers/account", { token: refreshed.body.data.id_token }));
      expectError(await api.post("/v1/providers/account/refresh", { refresh_token: "garbage" }), 401, "INVALID_CREDENTIALS");
    });
  });

  describe("GET/PATCH account", () => {
    it("updates company name, contact e-mail and notification preferences; plan tier is read-only", async () => {
      const { token, email } = await verifiedProvider();
      const res = await api.patch(
        "/v1/providers/account",
        { company_name: "Acme Forecasts", contact_email: "Ops@Acme.example", notification_preferences: { product_news: true } },
        { token },
      );
      expectStatus(200, res);
      expect(res.body.data).toEqual(
        expect.objectContaining({
          company_name: "Acme Forecasts",
          contact_email: "ops@acme.example",
          email,
          notification_preferences: { review_updates: true, quality_alerts: true, webhook_failures: true, product_news: true },
        }),
      );
      const readOnly = await api.patch("/v1/providers/account", { plan_tier: "enterprise" }, { token });
      expect(expectError(readOnly, 400, "VALIDATION_ERROR").message).toBe("plan_tier: Field is read-only");
      expect((await api.get("/v1/providers/account", { token })).body.data.plan_tier).toBe("free");
      expectError(await api.patch("/v1/providers/account", {}, { token }), 400, "VALIDATION_ERROR");
      expectError(await api.patch("/v1/providers/account", { notification_preferences: { sms: true } }, { token }), 400, "VALIDATION_ERROR");
    });

    it("refuses a Firebase user without a developer account", async () => {
      const email = uniqueEmail("enduser");
      await adminAuth().createUser({ email, password: PASSWORD });
      const token = await signInDirect(email);
      expectError(await api.get("/v1/providers/account", { token }), 403, "FORBIDDEN");
    });
  });

  describe("authentication", () => {
    it("answers a missing token with 401 and a Bearer challenge", async () => {
      const res = await api.get("/v1/providers/account");
      expectError(res, 401, "UNAUTHENTICATED");
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="aiffinity"/);
    });

    it("answers a malformed header or token with 401 invalid_token", async () => {
      expectError(await api.get("/v1/providers/account", { headers: { authorization: "Basic abc" } }), 401, "UNAUTHENTICATED");
      const res = await api.get("/v1/providers/account", { token: "not-a-jwt" });
      expectError(res, 401, "UNAUTHENTICATED");
      expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
    });

    it("answers an expired token with 401", async () => {
      const { token } = await verifiedProvider();
      const res = await api.get("/v1/providers/account", { token: expiredIdToken(token) });
      expect(expectError(res, 401, "UNAUTHENTICATED").message).toMatch(/expired/);
    });

    it("answers a revoked token with 401", async () => {
      const { token, accountId } = await verifiedProvider();
      await new Promise((r) => setTimeout(r, 1100)); // revocation has one-second resolution
      await adminAuth().revokeRefreshTokens(accountId);
      const res = await api.get("/v1/providers/account", { token });
      expect(expectError(res, 401, "UNAUTHENTICATED").message).toMatch(/revoked/);
    });
  });
});

import { type z } from "zod";
import { issueAccessToken, signingKeys } from "../../kernel/auth/accessTokens";
import { type Clock, MINUTE, systemClock } from "../../kernel/clock";
import { params } from "../../kernel/config";
import { hashSecret, newId, newSecret, randomBase62, sha256Hex } from "../../kernel/crypto";
import { ApiError, assert, conflict, notFound } from "../../kernel/errors";
import { auth, db } from "../../kernel/firebase";
import type { Page } from "../../kernel/http/envelope";
import { log } from "../../kernel/logger";
import { htmlFromParagraphs, queueMail } from "../../kernel/mail";
import { FailureThrottle } from "../../kernel/throttle";
import { type Account, type AccountDoc, accounts, DEFAULT_NOTIFICATIONS, findAccountByEmail } from "../../domain/accounts/account";
import { type App, type AppDoc, apps, findOwnedApp, listAppsOfAccount } from "../../domain/accounts/app";
import { VERIFICATION_TTL_MS, type VerificationTokenDoc, verificationTokens } from "../../domain/accounts/verificationToken";
import { orphanPackagesOfApp } from "../../domain/catalog/orphans";
import { notifyLockout } from "../../domain/events/security";
import { removeRuntimeAppsOfApp } from "../../domain/runtime/runtimeApp";
import { refreshIdToken, signInWithPassword } from "./identityToolkit";
import { passwordProblem } from "./password";
import { type CreateAccountBody, type CreateAppBody, type LoginBody, type UpdateAccountBody, type UpdateAppBody } from "./schemas";

export class ConsoleService {
  readonly loginThrottle: FailureThrottle;
  readonly resendThrottle: FailureThrottle;

  constructor(private readonly clock: Clock = systemClock) {
    // 5 guesses per e-mail and client IP in 15 minutes, progressively delayed (docs/security.md#throttles).
    this.loginThrottle = new FailureThrottle(
      { scope: "login", maxAttempts: 5, windowMs: 15 * MINUTE, blockMs: 15 * MINUTE, baseDelayMs: 125, maxDelayMs: 1000, settlesEveryGuess: true },
      clock,
    );
    // Verification mails: 5 an hour per address, whoever asks (it limits mail volume, not guesses).
    this.resendThrottle = new FailureThrottle({ scope: "verify-resend", maxAttempts: 5, windowMs: 60 * MINUTE, blockMs: 60 * MINUTE }, clock);
  }

  // ---------- Account ----------

  async createAccount(input: z.output<typeof CreateAccountBody>): Promise<Account> {
    const problem = passwordProblem(input.password, { email: input.email, companyName: input.company_name });
    if (problem) throw new ApiError("WEAK_PASSWORD", `password: ${problem}`, { details: [{ field: "password", message: problem }] });

    let uid: string;
    try {
      uid = (await auth().createUser({ email: input.email, password: input.password, displayName: input.company_name, emailVerified: false })).uid;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "auth/email-already-exists") throw conflict("An account with this e-mail address already exists");
      if (code === "auth/invalid-password") throw new ApiError("WEAK_PASSWORD", "password: Password is too weak");
      if (code === "auth/invalid-email") throw new ApiError("VALIDATION_ERROR", "email: Invalid e-mail address");
      throw error;
    }

    const now = this.clock.now();
    const account: AccountDoc = {
      companyName: input.company_name,
      email: input.email,
      contactEmail: input.email,
      status: "pending_verification",
      planTier: "free",
      customRateLimitPerMinute: null,
      notificationPreferences: DEFAULT_NOTIFICATIONS,
      emailVerifiedAt: null,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await db().runTransaction(async (tx) => {
        tx.create(accounts().doc(uid), account);
        this.issueVerification(tx, uid, input.email, input.company_name, now);
      });
    } catch (error) {
      // Nothing half-written: without its account document the Auth user must go too.
      await auth()
        .deleteUser(uid)
        .catch((cleanupError: unknown) => log.compensationFailed("delete_auth_user", uid, cleanupError));
      throw error;
    }
    log.accountCreated(uid);
    return { id: uid, ...account };
  }

  /** Writes a fresh token (hashed) and its e-mail in the caller's transaction. */
  private issueVerification(tx: FirebaseFirestore.Transaction, accountId: string, email: string, companyName: string, now: Date) {
    const token = `vt_${randomBase62(43)}`;
    tx.create(verificationTokens().doc(sha256Hex(token)), {
      accountId,
      expiresAt: new Date(now.getTime() + VERIFICATION_TTL_MS),
      usedAt: null,
      createdAt: now,
    });
    const link = `${params.consoleUrl.value()}/verify-email?token=${encodeURIComponent(token)}`;
    const paragraphs = [
      `Welcome to Aiffinity, ${companyName}.`,
      `Confirm your e-mail address to activate your developer account: ${link}`,
      `Or send this token to POST /v1/providers/account/verify: ${token}`,
      "The link and token expire in 24 hours and work once. If you did not sign up, ignore this e-mail.",
    ];
    queueMail(
      tx,
      {
        to: email,
        subject: "Verify your Aiffinity developer account",
        text: paragraphs.join("\n\n"),
        html: htmlFromParagraphs(paragraphs),
        category: "account_verification",
      },
      now,
    );
  }

  async verifyEmail(token: string): Promise<Account> {
    const ref = verificationTokens().doc(sha256Hex(token));
    const check = (doc: VerificationTokenDoc | undefined, now: Date) => {
      if (!doc) throw new ApiError("VERIFICATION_TOKEN_INVALID", "token: Unknown verification token");
      if (doc.usedAt) throw new ApiError("VERIFICATION_TOKEN_USED", "token: This verification token was already used");
      if (doc.expiresAt.getTime() <= now.getTime()) {
        throw new ApiError("VERIFICATION_TOKEN_EXPIRED", "token: This verification token has expired; request a new e-mail");
      }
      return doc;
    };
    const now = this.clock.now();
    const { accountId } = check((await ref.get()).data(), now);
    // Auth first (idempotent): if the transaction below fails, the same token still works on retry.
    await auth().updateUser(accountId, { emailVerified: true });
    const account = await db().runTransaction(async (tx) => {
      const tokenDoc = check((await tx.get(ref)).data(), now);
      const accountRef = accounts().doc(tokenDoc.accountId);
      const current = (await tx.get(accountRef)).data();
      assert(current, notFound("account"));
      if (current.status !== "pending_verification")
        throw new ApiError("ACCOUNT_ALREADY_VERIFIED", "This account's e-mail address is already verified");
      tx.update(ref, { usedAt: now });
      const update = { status: "active" as const, emailVerifiedAt: now, updatedAt: now };
      tx.update(accountRef, update);
      return { id: tokenDoc.accountId, ...current, ...update };
    });
    log.accountVerified(accountId);
    return account;
  }

  /** Always succeeds from the caller's view, so it cannot be used to probe which e-mails exist. */
  async resendVerification(email: string): Promise<void> {
    await this.resendThrottle.reserve(email, "*"); // every request counts, never refunded
    const account = await findAccountByEmail(email);
    if (!account || account.status !== "pending_verification") return;
    const now = this.clock.now();
    await db().runTransaction(async (tx) => {
      this.issueVerification(tx, account.id, account.email, account.companyName, now);
    });
  }

  /** Signs in with e-mail and password; guesses are throttled per e-mail and client IP (`source`). */
  async login(input: z.output<typeof LoginBody>, source: string) {
    const guess = await this.loginThrottle.reserve(input.email, source);
    let outcome: Awaited<ReturnType<typeof signInWithPassword>>;
    try {
      outcome = await signInWithPassword(input.email, input.password);
    } catch (error) {
      await guess.refund(); // not checked: it uses no allowance
      throw error;
    }
    if (outcome.ok) {
      await guess.refund();
      return outcome.result;
    }
    if (outcome.reason === "too_many_attempts") {
      await guess.refund();
      throw new ApiError("RATE_LIMITED", "Too many failed attempts; retry later", { headers: { "Retry-After": "900" } });
    }
    const failure = await guess.failed();
    if (failure.lockoutStarted && failure.lockedUntil) {
      const lockout = { scope: "login" as const, appId: null, clientId: null, source, failures: failure.failures, lockedUntil: failure.lockedUntil };
      await notifyLockout(await findAccountByEmail(input.email), input.email, lockout, this.clock.now());
    }
    if (failure.error) throw failure.error;
    throw new ApiError("INVALID_CREDENTIALS", "E-mail or password is incorrect");
  }

  async refresh(refreshToken: string) {
    const result = await refreshIdToken(refreshToken);
    if (!result) throw new ApiError("INVALID_CREDENTIALS", "Refresh token is invalid, expired or revoked; log in again");
    return result;
  }

  async updateAccount(account: Account, input: z.output<typeof UpdateAccountBody>): Promise<Account> {
    const now = this.clock.now();
    const update: Partial<AccountDoc> = { updatedAt: now };
    if (input.company_name !== undefined) update.companyName = input.company_name;
    if (input.contact_email !== undefined) update.contactEmail = input.contact_email;
    if (input.notification_preferences) update.notificationPreferences = { ...account.notificationPreferences, ...input.notification_preferences };
    await accounts().doc(account.id).update(update);
    return { ...account, ...update };
  }

  // ---------- Apps ----------

  async createApp(account: Account, input: z.output<typeof CreateAppBody>): Promise<{ app: App; clientSecret: string }> {
    if (account.status !== "active") throw new ApiError("ACCOUNT_NOT_VERIFIED", "Verify your e-mail address before creating apps");
    const now = this.clock.now();
    const clientSecret = newSecret("secret", 256);
    const doc: AppDoc = {
      accountId: account.id,
      name: input.name,
      description: input.description ?? "",
      clientId: newId("prov"),
      clientSecretHash: hashSecret(clientSecret),
      redirectUris: input.redirect_uris ?? [],
      webhookUrl: input.webhook_url ?? null,
      createdAt: now,
      updatedAt: now,
    };
    const id = newId("app");
    await apps().doc(id).create(doc);
    return { app: { id, ...doc }, clientSecret };
  }

  async getApp(account: Account, appId: string): Promise<App> {
    const app = await findOwnedApp(account.id, appId);
    assert(app, notFound("app", appId));
    return app;
  }

  async listApps(account: Account, limit: number, offset: number): Promise<Page<App>> {
    const { items, total } = await listAppsOfAccount(account.id, limit, offset);
    return { items, total, limit, offset };
  }

  async updateApp(account: Account, appId: string, input: z.output<typeof UpdateAppBody>): Promise<App> {
    const now = this.clock.now();
    return db().runTransaction(async (tx) => {
      const app = await findOwnedApp(account.id, appId, tx);
      assert(app, notFound("app", appId));
      const update: Partial<AppDoc> = { updatedAt: now };
      if (input.name !== undefined) update.name = input.name;
      if (input.description !== undefined) update.description = input.description;
      if (input.redirect_uris !== undefined) update.redirectUris = input.redirect_uris;
      if (input.webhook_url !== undefined) update.webhookUrl = input.webhook_url;
      tx.update(apps().doc(appId), update);
      return { ...app, ...update };
    });
  }

  /** Issues a new client secret; the old one stops working at once, and with `revokeTokens` so do the app's access tokens. */
  async rotateAppSecret(account: Account, appId: string, revokeTokens = false): Promise<{ app: App; clientSecret: string }> {
    const now = this.clock.now();
    const clientSecret = newSecret("secret", 256);
    const app = await db().runTransaction(async (tx) => {
      const current = await findOwnedApp(account.id, appId, tx);
      assert(current, notFound("app", appId));
      const update: Partial<AppDoc> = { clientSecretHash: hashSecret(clientSecret), updatedAt: now };
      if (revokeTokens) update.tokenGeneration = (current.tokenGeneration ?? 0) + 1;
      tx.update(apps().doc(appId), update);
      return { ...current, ...update };
    });
    return { app, clientSecret };
  }

  /**
   * An access token of one of the developer's own apps, as the client credentials grant gives it:
   * the console calls the Provider Runtime and Capabilities APIs with it, without the client secret.
   */
  async issueAppAccessToken(account: Account, appId: string): Promise<{ token: string; expiresIn: number }> {
    const app = await findOwnedApp(account.id, appId);
    assert(app, notFound("app", appId));
    const keys = await signingKeys();
    const issued = await issueAccessToken(
      { id: app.id, accountId: app.accountId, clientId: app.clientId, tokenGeneration: app.tokenGeneration },
      this.clock,
      keys,
    );
    log.tokenIssued(app.id, keys.signer.kid);
    return issued;
  }

  /** Deletes the app (and its runtime app) and orphans its packages in one transaction. */
  async deleteApp(account: Account, appId: string): Promise<void> {
    const now = this.clock.now();
    const orphaned = await db().runTransaction(async (tx) => {
      const app = await findOwnedApp(account.id, appId, tx);
      assert(app, notFound("app", appId));
      const orphan = await orphanPackagesOfApp(tx, appId, now);
      const removeRuntime = await removeRuntimeAppsOfApp(tx, appId);
      tx.delete(apps().doc(appId));
      removeRuntime();
      return orphan();
    });
    log.appDeleted(account.id, appId, orphaned);
  }
}

import type { Request } from "express";
import { type z } from "zod";
import { issueAccessToken, signingKeys } from "../../kernel/auth/accessTokens";
import { type Clock, MINUTE, systemClock } from "../../kernel/clock";
import { secretMatches, sha256Hex } from "../../kernel/crypto";
import { ApiError, type OAuthErrorCode } from "../../kernel/errors";
import { log } from "../../kernel/logger";
import { SigningKeyConfigError } from "../../kernel/auth/signingKeys";
import { clientIp } from "../../kernel/http/clientIp";
import { FailureThrottle } from "../../kernel/throttle";
import { Lru } from "../../kernel/lru";
import { getAllCoalesced } from "../../kernel/coalesce";
import { notifyLockout } from "../../domain/events/security";
import { type Account, type AccountDoc, accounts, findAccount } from "../../domain/accounts/account";
import { type App, type AppDoc, apps, findAppByClientId } from "../../domain/accounts/app";
import { type TokenOut, type TokenRequestBody } from "./schemas";

/** Bound on the client ids an instance remembers (a few bytes each). */
const MAX_KNOWN_CLIENTS = 10_000;

const BASIC_CHALLENGE = 'Basic realm="aiffinity", charset="UTF-8"';

const oauthError = (error: OAuthErrorCode, description: string, extra: { headers?: Record<string, string> } = {}) => {
  const code = error === "invalid_client" ? "UNAUTHENTICATED" : "VALIDATION_ERROR";
  return new ApiError(code, description, { oauthError: error, ...extra });
};

/** Form-urlencoded parts of HTTP Basic credentials (RFC 6749 §2.3.1). */
function basicCredentials(header: string): { clientId: string; clientSecret: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(header);
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  try {
    const part = (s: string) => decodeURIComponent(s.replace(/\+/g, " "));
    return { clientId: part(decoded.slice(0, colon)), clientSecret: part(decoded.slice(colon + 1)) };
  } catch {
    return null;
  }
}

/** The OAuth 2.1 token endpoint: client credentials grant only. */
export class TokenService {
  /** Client authentications per client_id and client IP: 10 guesses within 15 minutes, then that IP waits 15 minutes. */
  readonly throttle: FailureThrottle;
  /** client_id → its app and account ids (immutable facts; the documents are still read every time). */
  private readonly owners = new Lru<string, { appId: string; accountId: string }>(MAX_KNOWN_CLIENTS);

  constructor(private readonly clock: Clock = systemClock) {
    this.throttle = new FailureThrottle(
      {
        scope: "oauth-token",
        maxAttempts: 10,
        windowMs: 15 * MINUTE,
        blockMs: 15 * MINUTE,
        baseDelayMs: 125,
        maxDelayMs: 1000,
        settlesEveryGuess: true,
      },
      clock,
    );
  }

  async issue(req: Request, body: z.output<typeof TokenRequestBody>): Promise<z.input<typeof TokenOut>> {
    const header = req.headers.authorization;
    // A 401 always names the scheme (HTTP requires it), whether the client tried Basic or the body.
    const challenge = { headers: { "WWW-Authenticate": BASIC_CHALLENGE } };
    let clientId = body.client_id;
    let clientSecret = body.client_secret;
    if (header !== undefined) {
      const basic = basicCredentials(header);
      if (!basic)
        throw oauthError("invalid_client", "Authorization header must be HTTP Basic with the form-urlencoded client_id and client_secret", challenge);
      if (clientSecret !== undefined)
        throw oauthError("invalid_request", "Send the client credentials either in the Authorization header or in the body, not both");
      if (clientId !== undefined && clientId !== basic.clientId)
        throw oauthError("invalid_request", "client_id in the body differs from the one in the Authorization header");
      ({ clientId, clientSecret } = basic);
    }
    if (!body.grant_type) throw oauthError("invalid_request", "grant_type is required (use client_credentials)");
    if (!clientId || !clientSecret)
      throw oauthError("invalid_client", "Client authentication is required: client_id and client_secret in the body, or HTTP Basic", challenge);
    if (body.grant_type !== "client_credentials")
      throw oauthError("unsupported_grant_type", `grant_type '${body.grant_type.slice(0, 50)}' is not supported; use client_credentials`);
    if (body.scope !== undefined && body.scope.trim() !== "")
      throw oauthError("invalid_scope", "This server defines no scopes; omit scope (a token grants access to your app's provider APIs)");

    const clientHash = sha256Hex(clientId);
    const source = clientIp(req);
    // Reserving a guess and looking up the owner are independent: both in one round of parallel calls.
    const [reserved, owner] = await Promise.allSettled([this.throttle.reserve(clientId, source), this.owner(clientId)]);
    if (reserved.status === "rejected") {
      log.tokenRefused("throttled", clientHash);
      throw reserved.reason;
    }
    const guess = reserved.value;
    if (owner.status === "rejected") {
      await guess.refund(); // not checked: it uses no allowance
      throw owner.reason;
    }
    const { app, account } = owner.value;
    if (!app || !secretMatches(clientSecret, app.clientSecretHash)) {
      const failure = await guess.failed();
      log.tokenRefused(failure.error ? "throttled" : "invalid_client", clientHash);
      if (failure.lockoutStarted && failure.lockedUntil) {
        const lockout = {
          scope: "client_credentials" as const,
          appId: app?.id ?? null,
          clientId,
          source,
          failures: failure.failures,
          lockedUntil: failure.lockedUntil,
        };
        await notifyLockout(account, clientId, lockout, this.clock.now());
      }
      if (failure.error) throw failure.error;
      throw oauthError("invalid_client", "Unknown client or wrong client secret", challenge);
    }
    // The right secret gives its reservation back while the token is signed.
    const refunded = guess.refund();
    if (!account || account.status === "suspended") {
      await refunded;
      log.tokenRefused("account_suspended", clientHash);
      throw oauthError("unauthorized_client", "This client's developer account is suspended; contact support");
    }
    try {
      const issue = async () => {
        const keys = await signingKeys();
        const claims = { id: app.id, accountId: app.accountId, clientId: app.clientId, tokenGeneration: app.tokenGeneration };
        return { keys, ...(await issueAccessToken(claims, this.clock, keys)) };
      };
      const [{ keys, token, expiresIn }] = await Promise.all([issue(), refunded]);
      log.tokenIssued(app.id, keys.signer.kid);
      return { access_token: token, token_type: "Bearer", expires_in: expiresIn };
    } catch (error) {
      if (error instanceof SigningKeyConfigError) log.signingKeysInvalid(error.message);
      throw error;
    }
  }

  /**
   * The app of a client id and its account, read fresh on every request (a rotated secret, a deleted
   * app or a suspended account take effect at once). Only what never changes is cached: which app
   * and account a client id belongs to (client ids are never reused), so after the first request of
   * a client both documents come in one batched read instead of a query and then a read.
   */
  private async owner(clientId: string): Promise<{ app: App | null; account: Account | null }> {
    const known = this.owners.get(clientId);
    if (!known) {
      const app = await findAppByClientId(clientId);
      const account = app ? await findAccount(app.accountId) : null;
      if (app) this.owners.set(clientId, { appId: app.id, accountId: app.accountId });
      return { app, account };
    }
    const [appSnap, accountSnap] = await getAllCoalesced(apps().doc(known.appId), accounts().doc(known.accountId));
    const appDoc = appSnap!.data() as AppDoc | undefined;
    const accountDoc = accountSnap!.data() as AccountDoc | undefined;
    // A deleted app answers invalid_client, as an unknown client id does.
    if (!appDoc || appDoc.clientId !== clientId) return { app: null, account: null };
    return { app: { id: known.appId, ...appDoc }, account: accountDoc ? { id: known.accountId, ...accountDoc } : null };
  }

  async jwks() {
    return (await signingKeys()).jwks(this.clock.now());
  }
}

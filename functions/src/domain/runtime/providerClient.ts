import { type Clock, systemClock } from "../../kernel/clock";
import { log } from "../../kernel/logger";
import { OutboundError, type OutboundRequest, type OutboundResponse, outbound, outboundOk } from "../../kernel/outbound";
import { open } from "../../kernel/secretBox";
import { signedHeaders } from "../../kernel/standardWebhooks";
import { type AuthProfileDoc, type RuntimeApp } from "./runtimeApp";
import { TEMPLATE_PLACEHOLDER } from "./runtimeApp";

/**
 * How the platform talks to a provider runtime (contract: docs/provider-runtime.md). Every call
 * goes through kernel/outbound, carries the credentials of the runtime app's auth profile, and is
 * signed with its webhook signing secret (Standard Webhooks headers) when one is set. Used by the
 * health probe, the conformance probes, the capabilities engine and the sandbox.
 */

/** Where each sealed secret of a runtime app may be opened (AES-GCM associated data). */
export const sealContext = {
  authSecret: (runtimeAppId: string, field: string) => `runtimeApps/${runtimeAppId}/authProfile/${field}`,
  signingSecret: (runtimeAppId: string) => `runtimeApps/${runtimeAppId}/signingSecrets`,
};

/** The provider's OAuth token URL failed us; distinct from the call itself failing. */
export class ProviderAuthError extends Error {
  constructor(
    message: string,
    readonly cause: OutboundError | null,
  ) {
    super(message);
    this.name = "ProviderAuthError";
  }
}

interface CachedToken {
  token: string;
  expiresAtMs: number;
}

const TOKEN_FETCH_TIMEOUT_MS = 5_000;
/** Refresh this long before the provider's token expires, so it never expires in flight. */
const EXPIRY_MARGIN_MS = 60_000;
/** When the provider does not say (`expires_in` is optional in RFC 6749). */
const DEFAULT_TOKEN_LIFETIME_MS = 5 * 60_000;

/** Access tokens per runtime app and auth-profile version, for this instance's life. */
const tokenCache = new Map<string, CachedToken>();
const tokenFetches = new Map<string, Promise<CachedToken>>();

const cacheKey = (app: RuntimeApp, profile: Extract<AuthProfileDoc, { type: "oauth2" }>) => `${app.id}:${profile.updatedAt.getTime()}`;

/** Forgets the cached token, e.g. after the provider answered 401 to it. */
function invalidateProviderToken(app: RuntimeApp) {
  if (app.authProfile?.type === "oauth2") tokenCache.delete(cacheKey(app, app.authProfile));
}

async function fetchToken(app: RuntimeApp, profile: Extract<AuthProfileDoc, { type: "oauth2" }>, clock: Clock): Promise<CachedToken> {
  const secret = open(profile.clientSecret.sealed, sealContext.authSecret(app.id, "clientSecret"));
  const form = new URLSearchParams({ grant_type: "client_credentials" });
  if (profile.scope) form.set("scope", profile.scope);
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
  if (profile.tokenEndpointAuthMethod === "client_secret_post") {
    form.set("client_id", profile.clientId);
    form.set("client_secret", secret);
  } else {
    // RFC 6749 §2.3.1: each part form-urlencoded before base64.
    const encode = (s: string) => encodeURIComponent(s).replace(/%20/g, "+");
    headers.authorization = `Basic ${Buffer.from(`${encode(profile.clientId)}:${encode(secret)}`).toString("base64")}`;
  }
  let response: OutboundResponse;
  try {
    response = await outboundOk({
      url: profile.tokenUrl,
      method: "POST",
      headers,
      body: form.toString(),
      timeoutMs: TOKEN_FETCH_TIMEOUT_MS,
      maxResponseBytes: 64 * 1024,
    });
  } catch (error) {
    if (!(error instanceof OutboundError)) throw error;
    log.providerTokenFetchFailed(app.id, error.kind, error.details.status ?? null);
    throw new ProviderAuthError(`Token request to the provider's token URL failed: ${error.message}`, error);
  }
  let body: { access_token?: unknown; token_type?: unknown; expires_in?: unknown };
  try {
    body = response.json() as typeof body;
  } catch (error) {
    log.providerTokenFetchFailed(app.id, "bad_body", response.status);
    throw new ProviderAuthError("The provider's token URL answered with a body that is not JSON", error as OutboundError);
  }
  if (
    typeof body.access_token !== "string" ||
    !body.access_token ||
    typeof body.token_type !== "string" ||
    body.token_type.toLowerCase() !== "bearer"
  ) {
    log.providerTokenFetchFailed(app.id, "bad_body", response.status);
    throw new ProviderAuthError("The provider's token URL did not return a Bearer access_token", null);
  }
  const lifetimeMs = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in * 1000 : DEFAULT_TOKEN_LIFETIME_MS;
  return { token: body.access_token, expiresAtMs: clock.now().getTime() + lifetimeMs - Math.min(EXPIRY_MARGIN_MS, lifetimeMs / 2) };
}

async function oauth2Token(app: RuntimeApp, profile: Extract<AuthProfileDoc, { type: "oauth2" }>, clock: Clock): Promise<string> {
  const key = cacheKey(app, profile);
  const cached = tokenCache.get(key);
  if (cached && cached.expiresAtMs > clock.now().getTime()) return cached.token;
  // One fetch per key at a time: concurrent calls share it.
  let pending = tokenFetches.get(key);
  if (!pending) {
    pending = fetchToken(app, profile, clock).finally(() => tokenFetches.delete(key));
    tokenFetches.set(key, pending);
  }
  const fresh = await pending;
  tokenCache.set(key, fresh);
  return fresh.token;
}

/** The headers that authenticate the platform to the provider, per the runtime app's auth profile. */
async function providerAuthHeaders(app: RuntimeApp, context: { requestId: string; clock?: Clock }): Promise<Record<string, string>> {
  const clock = context.clock ?? systemClock;
  const profile = app.authProfile;
  if (!profile) return {};
  switch (profile.type) {
    case "oauth2":
      return { authorization: `Bearer ${await oauth2Token(app, profile, clock)}` };
    case "api_key":
      return { [profile.headerName]: open(profile.value.sealed, sealContext.authSecret(app.id, "value")) };
    case "custom": {
      const values: Record<string, string> = {
        timestamp: String(Math.floor(clock.now().getTime() / 1000)),
        requestId: context.requestId,
      };
      const headers: Record<string, string> = {};
      for (const [name, template] of Object.entries(profile.headers)) {
        headers[name] = template.replace(TEMPLATE_PLACEHOLDER, (_match, placeholder: string) => {
          if (placeholder.startsWith("secret.")) {
            const secret = profile.secrets[placeholder.slice(7)];
            return secret ? open(secret.sealed, sealContext.authSecret(app.id, `secrets.${placeholder.slice(7)}`)) : "";
          }
          return values[placeholder] ?? "";
        });
      }
      return headers;
    }
  }
}

/** The signing secrets in force at `now`, newest first (two during a rotation's grace period). */
export function activeSigningSecrets(app: RuntimeApp, now: Date): string[] {
  return app.signingSecrets
    .filter((s) => s.expiresAt === null || s.expiresAt.getTime() > now.getTime())
    .map((s) => open(s.sealed, sealContext.signingSecret(app.id)));
}

export interface ProviderCall extends Omit<OutboundRequest, "url" | "headers"> {
  /** Path below the runtime's endpoint URL, e.g. `/health`. */
  path: string;
  requestId: string;
  /**
   * Sent as `Idempotency-Key`: the same for every delivery of one logical call (a resend after a
   * reset, the retry after a 401), so the runtime can execute it once (docs/provider-runtime.md).
   */
  idempotencyKey?: string;
  clock?: Clock;
  /** Told what is sent, exactly (sandbox traces; they redact the credentials). */
  onSend?: (sent: { url: string; method: string; headers: Record<string, string>; body: string }) => void;
}

/**
 * Calls the provider runtime: its endpoint + path, authenticated and signed. Any HTTP status
 * resolves. A 401 to an OAuth token (revoked early by the provider) gets one retry with a new token.
 */
export async function callProvider(app: RuntimeApp, call: ProviderCall): Promise<OutboundResponse> {
  const response = await callProviderOnce(app, call);
  if (response.status !== 401 || app.authProfile?.type !== "oauth2") return response;
  invalidateProviderToken(app);
  return callProviderOnce(app, call);
}

async function callProviderOnce(app: RuntimeApp, call: ProviderCall): Promise<OutboundResponse> {
  const clock = call.clock ?? systemClock;
  const now = clock.now();
  const url = `${app.endpointUrl.replace(/\/+$/, "")}${call.path}`;
  const body = call.body ?? "";
  const headers: Record<string, string> = {
    accept: "application/json",
    "aiffinity-request-id": call.requestId,
    ...(call.idempotencyKey === undefined ? {} : { "idempotency-key": call.idempotencyKey }),
    ...(await providerAuthHeaders(app, { requestId: call.requestId, clock })),
  };
  if (call.body !== undefined) headers["content-type"] = "application/json";
  const secrets = activeSigningSecrets(app, now);
  if (secrets.length) Object.assign(headers, signedHeaders(secrets, call.requestId, Math.floor(now.getTime() / 1000), body));
  const { path: _path, requestId: _requestId, idempotencyKey: _key, clock: _clock, onSend, ...request } = call;
  onSend?.({ url, method: request.method ?? "GET", headers: { ...headers }, body });
  return outbound({ ...request, url, headers });
}

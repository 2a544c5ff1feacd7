import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { EnvRef, ManifestAuth, ManifestError, pathOf, resolveEnv } from "./manifest";
import type { AuthMethod } from "./types";

/**
 * How a runtime checks that a call really comes from Aiffinity: the credentials of the auth
 * profile (docs/provider-runtime.md#how-aiffinity-authenticates-to-you), and the Standard Webhooks
 * signature the platform adds once the runtime app has a signing secret.
 */

export type AuthMode =
  /** `<headerName>: <value>` on every request. */
  | { type: "api_key"; headerName: string; value: string }
  /**
   * OAuth 2.0 client credentials served by this runtime: the SDK answers the platform's token
   * requests at `tokenPath` (default `/oauth/token`) and accepts the Bearer tokens it issued.
   * Tokens are stateless (HMAC-signed), so every instance of the runtime accepts them.
   */
  | { type: "oauth2"; clientId: string; clientSecret: string; tokenPath?: string; tokenTtlSeconds?: number }
  /** OAuth 2.0 with your own authorization server: you say whether a Bearer token is valid. */
  | { type: "oauth2"; verifyToken: (token: string) => boolean | Promise<boolean> }
  /** Header templates with `{{secret.NAME}}`, `{{timestamp}}` (checked within `toleranceSeconds`) and `{{requestId}}`. */
  | { type: "custom"; headers: Record<string, string>; secrets?: Record<string, string>; toleranceSeconds?: number };

/** Constant time whatever the lengths: compares digests. */
export function safeEqual(a: string, b: string): boolean {
  const x = createHash("sha256").update(a).digest();
  const y = createHash("sha256").update(b).digest();
  return timingSafeEqual(x, y);
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

// ---------- OAuth 2.0 token issuer ----------

const TOKEN_VERSION = "ast1";

function tokenKey(clientSecret: string): Buffer {
  return createHmac("sha256", clientSecret).update("aiffinity-provider-sdk access token").digest();
}

export function issueAccessToken(mode: { clientId: string; clientSecret: string; tokenTtlSeconds?: number }): { token: string; expiresIn: number } {
  const expiresIn = mode.tokenTtlSeconds ?? 3600;
  const payload = Buffer.from(JSON.stringify({ cid: mode.clientId, exp: nowSeconds() + expiresIn, n: randomBytes(9).toString("base64url") })).toString("base64url");
  const mac = createHmac("sha256", tokenKey(mode.clientSecret)).update(`${TOKEN_VERSION}.${payload}`).digest("base64url");
  return { token: `${TOKEN_VERSION}.${payload}.${mac}`, expiresIn };
}

export function verifyAccessToken(mode: { clientId: string; clientSecret: string }, token: string): boolean {
  const [version, payload, mac] = token.split(".");
  if (version !== TOKEN_VERSION || !payload || !mac) return false;
  const expected = createHmac("sha256", tokenKey(mode.clientSecret)).update(`${version}.${payload}`).digest("base64url");
  if (!safeEqual(mac, expected)) return false;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { cid?: unknown; exp?: unknown };
    return claims.cid === mode.clientId && typeof claims.exp === "number" && claims.exp > nowSeconds();
  } catch {
    return false;
  }
}

/** RFC 6749 §2.3.1: Basic credentials are form-encoded before base64. */
function basicCredentials(header: string | undefined): { id: string; secret: string } | null {
  const match = /^Basic\s+(.+)$/i.exec(header ?? "");
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, " "));
  try {
    return { id: decode(decoded.slice(0, colon)), secret: decode(decoded.slice(colon + 1)) };
  } catch {
    return null;
  }
}

export type TokenEndpointAnswer = { status: number; body: Record<string, unknown>; headers?: Record<string, string>; issued: boolean };

/** The client credentials grant (form-encoded, Basic or client_secret_post), as the platform calls it. */
export function answerTokenRequest(
  mode: { clientId: string; clientSecret: string; tokenTtlSeconds?: number },
  headers: Record<string, string>,
  body: string,
): TokenEndpointAnswer {
  const form = new URLSearchParams(body);
  const basic = basicCredentials(headers.authorization);
  const id = basic ? basic.id : form.get("client_id");
  const secret = basic ? basic.secret : form.get("client_secret");
  if (form.get("grant_type") !== "client_credentials") return { status: 400, body: { error: "unsupported_grant_type" }, issued: false };
  if (id === null || secret === null || !safeEqual(id, mode.clientId) || !safeEqual(secret, mode.clientSecret)) {
    return { status: 401, body: { error: "invalid_client" }, headers: { "www-authenticate": 'Basic realm="runtime"' }, issued: false };
  }
  const { token, expiresIn } = issueAccessToken(mode);
  return { status: 200, body: { access_token: token, token_type: "Bearer", expires_in: expiresIn }, headers: { "cache-control": "no-store" }, issued: true };
}

// ---------- Custom header templates ----------

const PLACEHOLDER = /\{\{\s*([a-zA-Z][\w.]*)\s*\}\}/g;
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Does `value` equal the template rendered for this request? `{{timestamp}}` is read from the value
 * itself and must be within the tolerance; the comparison of the rendered header is constant time.
 */
export function matchesTemplate(template: string, value: string, secrets: Record<string, string>, requestId: string, toleranceSeconds: number): boolean {
  let timestamp: string | null = null;
  if (/\{\{\s*timestamp\s*\}\}/.test(template)) {
    let pattern = "^";
    let last = 0;
    for (const match of template.matchAll(PLACEHOLDER)) {
      pattern += escapeRegExp(template.slice(last, match.index));
      pattern += match[1] === "timestamp" ? "(\\d{1,12})" : "[\\s\\S]*?";
      last = match.index! + match[0].length;
    }
    pattern += `${escapeRegExp(template.slice(last))}$`;
    const found = new RegExp(pattern).exec(value);
    if (!found) return false;
    timestamp = found[1]!;
    if (Math.abs(nowSeconds() - Number(timestamp)) > toleranceSeconds) return false;
  }
  let unknown = false;
  const rendered = template.replace(PLACEHOLDER, (_m, name: string) => {
    if (name === "timestamp") return timestamp ?? "";
    if (name === "requestId") return requestId;
    if (name.startsWith("secret.") && name.slice(7) in secrets) return secrets[name.slice(7)]!;
    unknown = true;
    return "";
  });
  return !unknown && safeEqual(rendered, value);
}

// ---------- Checking a request ----------

export interface AuthChecker {
  /** The mode that authenticated the request, or null. */
  check(headers: Record<string, string>): Promise<AuthMethod | null>;
  /** The built-in token endpoint's path and issuer, when an oauth2 mode serves tokens. */
  issuer: { path: string; mode: { clientId: string; clientSecret: string; tokenTtlSeconds?: number } } | null;
}

export function authChecker(modes: AuthMode[]): AuthChecker {
  let issuer: AuthChecker["issuer"] = null;
  for (const mode of modes) {
    if (mode.type === "oauth2" && "clientId" in mode) issuer ??= { path: mode.tokenPath ?? "/oauth/token", mode };
  }
  return {
    issuer,
    async check(headers) {
      for (const mode of modes) {
        switch (mode.type) {
          case "api_key": {
            const given = headers[mode.headerName.toLowerCase()];
            if (given !== undefined && safeEqual(given, mode.value)) return "api_key";
            break;
          }
          case "oauth2": {
            const bearer = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? "");
            if (!bearer) break;
            const ok = "verifyToken" in mode ? await mode.verifyToken(bearer[1]!) : verifyAccessToken(mode, bearer[1]!);
            if (ok) return "oauth2";
            break;
          }
          case "custom": {
            const entries = Object.entries(mode.headers);
            const requestId = headers["aiffinity-request-id"] ?? "";
            const all = entries.length > 0 && entries.every(([name, template]) => {
              const given = headers[name.toLowerCase()];
              return given !== undefined && matchesTemplate(template, given, mode.secrets ?? {}, requestId, mode.toleranceSeconds ?? 300);
            });
            if (all) return "custom";
            break;
          }
        }
      }
      return null;
    },
  };
}

/** The auth mode a manifest's `runtime.auth` describes, with its secrets read from the environment. */
export function authFromManifest(auth: ManifestAuth, env: Record<string, string | undefined>, options: { verifyToken?: (token: string) => boolean | Promise<boolean> } = {}): AuthMode {
  switch (auth.type) {
    case "api_key":
      return { type: "api_key", headerName: auth.headerName, value: resolveEnv(auth.value, env, "runtime.auth.value") };
    case "oauth2":
      if (options.verifyToken) return { type: "oauth2", verifyToken: options.verifyToken };
      if (!auth.tokenUrl.startsWith("/")) {
        throw new ManifestError(
          `runtime.auth.tokenUrl ${auth.tokenUrl} is another server's token endpoint: pass verifyToken to createRuntime, or use a path (e.g. "/oauth/token") to have this runtime issue tokens`,
        );
      }
      return { type: "oauth2", clientId: auth.clientId, clientSecret: resolveEnv(auth.clientSecret, env, "runtime.auth.clientSecret"), tokenPath: pathOf(auth.tokenUrl) };
    case "custom": {
      const secrets: Record<string, string> = {};
      for (const [name, ref] of Object.entries(auth.secrets ?? {})) secrets[name] = resolveEnv(ref as EnvRef, env, `runtime.auth.secrets.${name}`);
      return { type: "custom", headers: auth.headers, secrets };
    }
  }
}

// ---------- Signatures (Standard Webhooks) ----------

/**
 * Verifies a Standard Webhooks signature (`webhook-id`, `webhook-timestamp`, `webhook-signature`)
 * over the raw body with the `standardwebhooks` package: webhook deliveries and, once the runtime
 * app has a signing secret, every call the platform makes. Any of several secrets may match
 * (during a rotation the platform signs with both). Timestamps older than 5 minutes fail.
 */
export function verifyWebhookSignature(secrets: string | string[], headers: Record<string, string | string[] | undefined>, body: string): boolean {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  for (const secret of Array.isArray(secrets) ? secrets : [secrets]) {
    try {
      new Webhook(secret).verify(body, flat, { jsonParse: false });
      return true;
    } catch {
      // try the next secret
    }
  }
  return false;
}

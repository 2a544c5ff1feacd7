import { params } from "../../kernel/config";
import { ApiError } from "../../kernel/errors";
import { log } from "../../kernel/logger";

/**
 * Email/password sign-in through the Identity Toolkit REST API, the same API the Firebase client
 * SDKs use. The Auth emulator serves it at http://<FIREBASE_AUTH_EMULATOR_HOST>/<host>/...
 */
function endpoint(host: "identitytoolkit.googleapis.com" | "securetoken.googleapis.com", path: string): string {
  const emulator = process.env.FIREBASE_AUTH_EMULATOR_HOST;
  const base = emulator ? `http://${emulator}/${host}` : `https://${host}`;
  return `${base}${path}?key=${encodeURIComponent(params.webApiKey.value())}`;
}

export interface SignInResult {
  idToken: string;
  refreshToken: string;
  expiresIn: number;
  uid: string;
}

/** Codes that mean "these credentials are wrong"; all answer the same, so e-mails cannot be probed. */
const BAD_CREDENTIALS = new Set(["EMAIL_NOT_FOUND", "INVALID_PASSWORD", "INVALID_LOGIN_CREDENTIALS", "USER_DISABLED", "INVALID_EMAIL"]);
const BAD_REFRESH = new Set(["TOKEN_EXPIRED", "USER_DISABLED", "USER_NOT_FOUND", "INVALID_REFRESH_TOKEN", "MISSING_REFRESH_TOKEN"]);

async function call(url: string, init: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    log.identityToolkitError(0, error instanceof Error ? error.name : "fetch_failed");
    throw new ApiError("SERVICE_UNAVAILABLE", "The identity service is unavailable; retry shortly");
  }
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  return { status: response.status, body };
}

const errorCode = (body: Record<string, unknown>) =>
  String((body.error as { message?: string } | undefined)?.message ?? "UNKNOWN")
    .split(" ")[0]!
    .split(":")[0]!;

export type SignInOutcome = { ok: true; result: SignInResult } | { ok: false; reason: "bad_credentials" | "too_many_attempts" };

export async function signInWithPassword(email: string, password: string): Promise<SignInOutcome> {
  const { status, body } = await call(endpoint("identitytoolkit.googleapis.com", "/v1/accounts:signInWithPassword"), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password, returnSecureToken: true }),
  });
  if (status === 200) {
    return {
      ok: true,
      result: {
        idToken: String(body.idToken),
        refreshToken: String(body.refreshToken),
        expiresIn: Number(body.expiresIn),
        uid: String(body.localId),
      },
    };
  }
  const code = errorCode(body);
  if (BAD_CREDENTIALS.has(code)) return { ok: false, reason: "bad_credentials" };
  if (code === "TOO_MANY_ATTEMPTS_TRY_LATER") return { ok: false, reason: "too_many_attempts" };
  log.identityToolkitError(status, code);
  throw new ApiError("SERVICE_UNAVAILABLE", "The identity service could not sign you in; retry shortly");
}

export async function refreshIdToken(refreshToken: string): Promise<SignInResult | null> {
  const { status, body } = await call(endpoint("securetoken.googleapis.com", "/v1/token"), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken }).toString(),
  });
  if (status === 200) {
    return {
      idToken: String(body.id_token),
      refreshToken: String(body.refresh_token),
      expiresIn: Number(body.expires_in),
      uid: String(body.user_id),
    };
  }
  const code = errorCode(body);
  if (BAD_REFRESH.has(code)) return null;
  log.identityToolkitError(status, code);
  throw new ApiError("SERVICE_UNAVAILABLE", "The identity service could not refresh the token; retry shortly");
}

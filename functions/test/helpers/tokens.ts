import { createPrivateKey } from "node:crypto";
import { decodeJwt, SignJWT } from "jose";
import { localSigningKeys } from "./secrets";

const nowS = () => Math.floor(Date.now() / 1000);

/**
 * The Auth emulator's ID tokens are unsigned JWTs (the Admin SDK skips the signature check on the
 * emulator but checks every claim), so re-encoding one with other claims fakes its age.
 */
function withClaims(idToken: string, claims: Record<string, unknown>): string {
  const [header, payload] = idToken.split(".");
  const decoded = JSON.parse(Buffer.from(payload!, "base64url").toString());
  return `${header}.${Buffer.from(JSON.stringify({ ...decoded, ...claims })).toString("base64url")}.`;
}

/** The same user's token, expired an hour ago. */
export const expiredIdToken = (idToken: string) => withClaims(idToken, { iat: nowS() - 7200, exp: nowS() - 3600, auth_time: nowS() - 7200 });

/**
 * An access token like `like` (same app and claims), signed with a key from the local secrets, with
 * overrides: what an attacker holding a key could forge, or an expired token.
 */
export function forgeAccessToken(
  like: string,
  key: { kid: string; pem: string },
  overrides: { iat?: number; exp?: number; aud?: string; typ?: string } = {},
) {
  const claims = decodeJwt(like);
  const iat = overrides.iat ?? nowS();
  return new SignJWT({ client_id: claims.client_id, account_id: claims.account_id })
    .setProtectedHeader({ alg: "RS256", kid: key.kid, typ: overrides.typ ?? "at+jwt" })
    .setIssuer(claims.iss!)
    .setAudience(overrides.aud ?? (claims.aud as string))
    .setSubject(claims.sub!)
    .setIssuedAt(iat)
    .setExpirationTime(overrides.exp ?? iat + 3600)
    .setJti("tok_forged0000000000000")
    .sign(createPrivateKey(key.pem));
}

/** The same app's access token, expired an hour ago (signed with the active local key). */
export const expiredAccessToken = (like: string) => {
  const active = localSigningKeys().find((k) => !k.retiredAt)!;
  return forgeAccessToken(like, active, { iat: nowS() - 7200, exp: nowS() - 3600 });
};

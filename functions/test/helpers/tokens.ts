const nowS = () => Math.floor(Date.now() / 1000);

/**
 * The Auth emulator's ID tokens are unsigned JWTs (the Admin SDK skips the signature check on the
 * emulator but checks every claim), so re-encoding one with other claims fakes its age.
 */
export function withClaims(idToken: string, claims: Record<string, unknown>): string {
  const [header, payload] = idToken.split(".");
  const decoded = JSON.parse(Buffer.from(payload!, "base64url").toString());
  return `${header}.${Buffer.from(JSON.stringify({ ...decoded, ...claims })).toString("base64url")}.`;
}

/** The same user's token, expired an hour ago. */
export const expiredIdToken = (idToken: string) => withClaims(idToken, { iat: nowS() - 7200, exp: nowS() - 3600, auth_time: nowS() - 7200 });

/** An access token of the same app as `access`, signed with the active local key, that expired an hour ago. */
export async function expiredAccessToken(access: string): Promise<string> {
  const { createPrivateKey } = await import("node:crypto");
  const { decodeJwt, SignJWT } = await import("jose");
  const { localSigningKeys } = await import("./secrets");
  const claims = decodeJwt(access);
  const key = localSigningKeys().find((k) => !k.retiredAt)!;
  const iat = nowS() - 7200;
  return new SignJWT({ client_id: claims.client_id, account_id: claims.account_id })
    .setProtectedHeader({ alg: "RS256", kid: key.kid, typ: "at+jwt" })
    .setIssuer(claims.iss!)
    .setAudience(claims.aud as string)
    .setSubject(claims.sub!)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 3600)
    .setJti("tok_expired000000000000")
    .sign(createPrivateKey(key.pem));
}

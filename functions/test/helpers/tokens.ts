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

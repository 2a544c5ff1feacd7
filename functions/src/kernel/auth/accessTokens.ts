import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import type { Clock } from "../clock";
import { params, secrets } from "../config";
import { newId } from "../crypto";
import { SigningKeySet } from "./signingKeys";

/** Access tokens live one hour (`expires_in: 3600`). */
const ACCESS_TOKEN_TTL_SECONDS = 3600;
const TTL_MS = ACCESS_TOKEN_TTL_SECONDS * 1000;
/** RFC 9068 media type of JWT access tokens, so an ID token can never pass for one. */
const TOKEN_TYPE = "at+jwt";

const tokenIssuer = () => params.publicBaseUrl.value();
/** Tokens are for the provider APIs only. */
const tokenAudience = () => `${params.publicBaseUrl.value()}/v1/providers`;

let cached: { secret: string; keys: Promise<SigningKeySet> } | undefined;

/** The key set of TOKEN_SIGNING_KEYS, parsed once per instance (secrets are fixed for its life). */
export function signingKeys(): Promise<SigningKeySet> {
  const secret = secrets.tokenSigningKeys.value();
  if (cached?.secret !== secret) cached = { secret, keys: SigningKeySet.parse(secret, TTL_MS) };
  return cached.keys;
}

export interface AccessTokenClaims {
  /** The console app the token was issued to (`sub`). */
  appId: string;
  accountId: string;
  clientId: string;
  tokenId: string;
  /** The app's token generation at issuance (`gen`; 0 when absent): revoked once the app's is higher. */
  generation: number;
  issuedAt: Date;
  expiresAt: Date;
}

export async function issueAccessToken(
  app: { id: string; accountId: string; clientId: string; tokenGeneration?: number },
  clock: Clock,
  keys?: SigningKeySet,
) {
  const keySet = keys ?? (await signingKeys());
  const signer = keySet.signer;
  const now = Math.floor(clock.now().getTime() / 1000);
  const token = await new SignJWT({
    client_id: app.clientId,
    account_id: app.accountId,
    // Only once the app has revoked tokens (rotate-secret with revoke_tokens): absent means 0.
    ...(app.tokenGeneration ? { gen: app.tokenGeneration } : {}),
  })
    .setProtectedHeader({ alg: "RS256", kid: signer.kid, typ: TOKEN_TYPE })
    .setIssuer(tokenIssuer())
    .setAudience(tokenAudience())
    .setSubject(app.id)
    .setIssuedAt(now)
    .setExpirationTime(now + ACCESS_TOKEN_TTL_SECONDS)
    .setJti(newId("tok"))
    .sign(signer.privateKey);
  return { token, expiresIn: ACCESS_TOKEN_TTL_SECONDS };
}

export class InvalidAccessToken extends Error {
  constructor(
    message: string,
    readonly expired = false,
  ) {
    super(message);
    this.name = "InvalidAccessToken";
  }
}

/** Verifies signature, key, type, issuer, audience and lifetime locally; no network, no database. */
export async function verifyAccessToken(token: string, clock: Clock, keys?: SigningKeySet): Promise<AccessTokenClaims> {
  const keySet = keys ?? (await signingKeys());
  const now = clock.now();
  let usedKid = "";
  try {
    const { payload } = await jwtVerify(
      token,
      (header) => {
        const key = header.kid ? keySet.find(header.kid) : undefined;
        if (!key) throw new InvalidAccessToken("Access token was signed with an unknown key");
        usedKid = key.kid;
        return key.publicKey;
      },
      {
        algorithms: ["RS256"],
        typ: TOKEN_TYPE,
        issuer: tokenIssuer(),
        audience: tokenAudience(),
        currentDate: now,
        clockTolerance: 30,
        requiredClaims: ["sub", "exp", "iat", "jti", "account_id", "client_id"],
      },
    );
    const issuedAt = new Date(payload.iat! * 1000);
    if (!keySet.accepts(keySet.find(usedKid)!, issuedAt, now)) throw new InvalidAccessToken("Access token was signed with a retired key");
    if (typeof payload.account_id !== "string" || typeof payload.client_id !== "string") throw new InvalidAccessToken("Access token is malformed");
    const generation = payload.gen ?? 0;
    if (typeof generation !== "number" || !Number.isInteger(generation) || generation < 0) throw new InvalidAccessToken("Access token is malformed");
    return {
      appId: payload.sub!,
      accountId: payload.account_id,
      clientId: payload.client_id,
      tokenId: payload.jti!,
      generation,
      issuedAt,
      expiresAt: new Date(payload.exp! * 1000),
    };
  } catch (error) {
    if (error instanceof InvalidAccessToken) throw error;
    if (error instanceof joseErrors.JWTExpired) throw new InvalidAccessToken("Access token has expired; request a new one", true);
    if (error instanceof joseErrors.JOSEError) throw new InvalidAccessToken("Access token is malformed or invalid");
    throw error;
  }
}

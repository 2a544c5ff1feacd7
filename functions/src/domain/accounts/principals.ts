import type { Request } from "express";
import { InvalidAccessToken, verifyAccessToken } from "../../kernel/auth/accessTokens";
import { bearerToken, unauthenticated, verifyFirebaseUser } from "../../kernel/auth/firebaseUser";
import type { AppPrincipal, DeveloperPrincipal, Authenticator } from "../../kernel/auth/principal";
import { type Clock, systemClock } from "../../kernel/clock";
import { ApiError } from "../../kernel/errors";
import { type Account, findAccount } from "./account";
import { type App, apps } from "./app";
import { ReadBatch } from "../../kernel/firestore";

/** A signed-in developer with a provider account (Developer Console and Package Management APIs). */
export type ProviderPrincipal = DeveloperPrincipal<Account>;

/** A provider app calling with an OAuth 2.1 access token (Provider Runtime and Capabilities APIs). */
export type OAuthAppPrincipal = AppPrincipal<Account, App>;

const suspended = () => new ApiError("FORBIDDEN", "This developer account is suspended; contact support");

export const providerAccount: Authenticator<ProviderPrincipal> = {
  scheme: "firebaseIdToken",
  async authenticate(req) {
    const user = await verifyFirebaseUser(req);
    const account = await findAccount(user.uid);
    if (!account) throw new ApiError("FORBIDDEN", "This user has no developer account; create one with POST /v1/providers/account");
    if (account.status === "suspended") throw suspended();
    return { kind: "provider", user, account };
  },
};

/** The app a request's access token names, once its signature is verified (see tokenSubject). */
const subjects = new WeakMap<Request, { appId: string; accountId: string }>();

/**
 * The app and account a request's access token names, known as soon as its signature is verified
 * and before the app and account are read: only for starting reads early (a route's prefetch),
 * never to authorise anything. Undefined before verification or for other credentials.
 */
export const tokenSubject = (req: Request) => subjects.get(req);

/**
 * Verifies the JWT locally against the signing keys, then reads the app and its account: a deleted
 * app's tokens stop working at once, and a suspended account's apps are refused. The route's
 * prefetch (`verified`) starts between the two, so its reads share the round trip.
 */
async function verifyOAuthApp(
  req: Request,
  verified: ((reads: ReadBatch) => void) | undefined,
  clock: Clock = systemClock,
): Promise<OAuthAppPrincipal> {
  const token = bearerToken(req);
  let claims;
  try {
    claims = await verifyAccessToken(token, clock);
  } catch (error) {
    if (error instanceof InvalidAccessToken) throw unauthenticated(error.message, "invalid_token");
    throw error;
  }
  subjects.set(req, { appId: claims.appId, accountId: claims.accountId });
  // The app, the account and the route's prefetched documents in one lookup.
  const reads = new ReadBatch();
  verified?.(reads);
  const lookups = Promise.all([reads.get(apps().doc(claims.appId)), findAccount(claims.accountId, reads)]);
  reads.flush();
  const [snap, account] = await lookups;
  const app = snap.data();
  if (!app || app.accountId !== claims.accountId || app.clientId !== claims.clientId || !account) {
    throw unauthenticated("Access token belongs to an app that no longer exists", "invalid_token");
  }
  if (claims.generation < (app.tokenGeneration ?? 0)) {
    throw unauthenticated("Access token was revoked: the app's client secret was rotated with revoke_tokens; request a new token", "invalid_token");
  }
  if (account.status === "suspended") throw suspended();
  return { kind: "app", appId: snap.id, app: { id: snap.id, ...app }, accountId: account.id, account, tokenId: claims.tokenId };
}

export const oauthApp: Authenticator<OAuthAppPrincipal> = {
  scheme: "oauth2ClientCredentials",
  authenticate: (req, _res, verified) => verifyOAuthApp(req, verified),
};

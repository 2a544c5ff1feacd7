import type { Request } from "express";
import { apps, findAccount } from "../../surfaces/console/repository";
import type { Account, App } from "../../surfaces/console/schemas";
import { InvalidAccessToken, verifyAccessToken } from "../accessTokens";
import { Clock, systemClock } from "../clock";
import { ApiError } from "../errors";
import type { Authenticator } from "../http/route";
import { bearerToken, unauthenticated } from "./firebaseUser";

/** A provider app calling with an OAuth 2.1 access token (Provider Runtime and Capabilities APIs). */
export interface OAuthAppPrincipal {
  kind: "app";
  appId: string;
  app: App;
  accountId: string;
  /** The owning account, for its plan tier (rate limits) and status. */
  account: Account;
  tokenId: string;
}

/**
 * Verifies the JWT locally against the signing keys, then reads the app and its account: a deleted
 * app's tokens stop working at once, and a suspended account's apps are refused.
 */
export async function verifyOAuthApp(req: Request, clock: Clock = systemClock): Promise<OAuthAppPrincipal> {
  const token = bearerToken(req);
  let claims;
  try {
    claims = await verifyAccessToken(token, clock);
  } catch (error) {
    if (error instanceof InvalidAccessToken) throw unauthenticated(error.message, "invalid_token");
    throw error;
  }
  const [snap, account] = await Promise.all([apps().doc(claims.appId).get(), findAccount(claims.accountId)]);
  const app = snap.data();
  if (!app || app.accountId !== claims.accountId || app.clientId !== claims.clientId || !account) {
    throw unauthenticated("Access token belongs to an app that no longer exists", "invalid_token");
  }
  if (account.status === "suspended") throw new ApiError("FORBIDDEN", "This developer account is suspended; contact support");
  return { kind: "app", appId: snap.id, app: { id: snap.id, ...app }, accountId: account.id, account, tokenId: claims.tokenId };
}

export const oauthApp: Authenticator<OAuthAppPrincipal> = {
  scheme: "oauth2ClientCredentials",
  authenticate: (req) => verifyOAuthApp(req),
};

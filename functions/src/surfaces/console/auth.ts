import { ApiError } from "../../kernel/errors";
import { FirebaseUser, verifyFirebaseUser } from "../../kernel/auth/firebaseUser";
import type { Authenticator } from "../../kernel/http/route";
import { findAccount } from "./repository";
import type { Account } from "./schemas";

export interface ProviderPrincipal {
  kind: "provider";
  user: FirebaseUser;
  account: Account;
}

/** A signed-in developer with a provider account (Developer Console and Package Management APIs). */
export const providerAccount: Authenticator<ProviderPrincipal> = {
  scheme: "firebaseIdToken",
  async authenticate(req) {
    const user = await verifyFirebaseUser(req);
    const account = await findAccount(user.uid);
    if (!account) throw new ApiError("FORBIDDEN", "This user has no developer account; create one with POST /v1/providers/account");
    if (account.status === "suspended") throw new ApiError("FORBIDDEN", "This developer account is suspended; contact support");
    return { kind: "provider", user, account };
  },
};

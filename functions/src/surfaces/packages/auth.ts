import { FirebaseUser, verifyFirebaseUser } from "../../kernel/auth/firebaseUser";
import { forbidden } from "../../kernel/errors";
import type { Authenticator } from "../../kernel/http/route";

export interface ReviewerPrincipal {
  kind: "reviewer";
  user: FirebaseUser;
}

/**
 * Aiffinity staff who review packages: Firebase users with the custom claim `reviewer: true`
 * (set with the Admin SDK's setCustomUserClaims; it appears in ID tokens issued afterwards).
 */
export const reviewerUser: Authenticator<ReviewerPrincipal> = {
  scheme: "firebaseIdToken",
  async authenticate(req) {
    const user = await verifyFirebaseUser(req);
    if (user.claims.reviewer !== true) throw forbidden("Reviewer routes need an account with the reviewer role");
    return { kind: "reviewer", user };
  },
};

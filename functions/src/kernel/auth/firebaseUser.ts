import type { Request } from "express";
import { ApiError, forbidden } from "../errors";
import { auth } from "../firebase";
import type { AnonymousPrincipal, Authenticator, FirebaseUser, ReviewerPrincipal } from "./principal";

const REALM = 'Bearer realm="aiffinity"';

export function unauthenticated(message: string, error?: "invalid_token" | "invalid_request"): ApiError {
  const challenge = error ? `${REALM}, error="${error}", error_description="${message.replace(/"/g, "'")}"` : REALM;
  return new ApiError("UNAUTHENTICATED", message, { headers: { "WWW-Authenticate": challenge } });
}

/** The token of `Authorization: Bearer <token>`, or an UNAUTHENTICATED error saying what is wrong. */
export function bearerToken(req: Request): string {
  const header = req.headers.authorization;
  if (!header) throw unauthenticated("Missing Authorization header; send 'Authorization: Bearer <token>'");
  const match = /^Bearer\s+([^\s]+)\s*$/i.exec(header);
  if (!match) throw unauthenticated("Authorization header must be 'Bearer <token>'", "invalid_request");
  return match[1]!;
}

const MESSAGES: Record<string, string> = {
  "auth/id-token-expired": "ID token has expired; sign in again or refresh it",
  "auth/id-token-revoked": "ID token has been revoked; sign in again",
  "auth/user-disabled": "This user has been disabled",
  "auth/user-not-found": "This user no longer exists",
};

/** Verifies a Firebase ID token, revocation included (the Auth emulator supports the same checks). */
export async function verifyFirebaseUser(req: Request): Promise<FirebaseUser> {
  const token = bearerToken(req);
  try {
    const decoded = await auth().verifyIdToken(token, true);
    return {
      kind: "user",
      uid: decoded.uid,
      email: decoded.email ?? null,
      emailVerified: decoded.email_verified === true,
      claims: decoded,
    };
  } catch (error) {
    const code = (error as { code?: string }).code ?? "";
    if (code in MESSAGES) throw unauthenticated(MESSAGES[code]!, "invalid_token");
    if (code === "auth/argument-error" || code === "auth/invalid-id-token") {
      throw unauthenticated("ID token is malformed or invalid", "invalid_token");
    }
    throw error; // the identity service failing is our problem, not the caller's
  }
}

/** Any signed-in Firebase user (end users of the Aiffinity apps, reviewers, providers). */
export const firebaseUser: Authenticator<FirebaseUser> = {
  scheme: "firebaseIdToken",
  authenticate: (req) => verifyFirebaseUser(req),
};

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

export const publicRoute: Authenticator<AnonymousPrincipal> = {
  scheme: null,
  authenticate: async () => ({ kind: "anonymous" }),
};

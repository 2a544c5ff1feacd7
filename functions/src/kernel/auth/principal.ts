import type { Request, Response } from "express";
import type { ReadBatch } from "../firestore";
import type { PlanTier } from "../plans";

/** What the rate limiter needs of the developer account a request counts against. */
interface PlanHolder {
  id: string;
  planTier: PlanTier;
  customRateLimitPerMinute: number | null;
}

/** A signed-in Firebase user (an end user of the Aiffinity apps, or the user behind another principal). */
export interface FirebaseUser {
  kind: "user";
  uid: string;
  email: string | null;
  emailVerified: boolean;
  claims: Record<string, unknown>;
}

export interface AnonymousPrincipal {
  kind: "anonymous";
}

/** Aiffinity staff with the `reviewer` custom claim (the package review queue). */
export interface ReviewerPrincipal {
  kind: "reviewer";
  user: FirebaseUser;
}

/** A signed-in developer with a provider account; the domain narrows `A` to its account record. */
export interface DeveloperPrincipal<A extends PlanHolder = PlanHolder> {
  kind: "provider";
  user: FirebaseUser;
  account: A;
}

/** A provider app calling with an OAuth access token; the domain narrows `A` and `P` to its records. */
export interface AppPrincipal<A extends PlanHolder = PlanHolder, P = unknown> {
  kind: "app";
  appId: string;
  app: P;
  accountId: string;
  account: A;
  tokenId: string;
}

/** Every kind of caller: end users are plain Firebase users (`kind: "user"`). */
export type Principal = AnonymousPrincipal | FirebaseUser | ReviewerPrincipal | DeveloperPrincipal | AppPrincipal;

/** How a route authenticates its caller; the kernel calls it before validating any input. */
export interface Authenticator<P extends Principal> {
  /** The OpenAPI security scheme it implements, or null for public routes. */
  readonly scheme: "firebaseIdToken" | "oauth2ClientCredentials" | null;
  /**
   * Resolves the caller or throws ApiError (UNAUTHENTICATED, FORBIDDEN...). Calls `verified` (if
   * given) as soon as the credentials are proven genuine by a local check (a signature), with the
   * batch its own lookups go in, so that the route's prefetch adds its lookups to the same RPC.
   */
  authenticate(req: Request, res: Response, verified?: (reads: ReadBatch) => void): Promise<P>;
}

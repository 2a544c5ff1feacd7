import { z } from "zod";
import { ApiError } from "../../kernel/errors";

/**
 * The one state machine of package versions (diagram in docs/packages.md). Every state change
 * goes through `VersionChange` (version.ts), which checks it against this table inside the
 * transaction that makes it, so an illegal change is refused before anything is written.
 */
export const VERSION_STATES = [
  "draft",
  "validating",
  "validated",
  "submitted",
  "in_review",
  "approved",
  "rejected",
  "published",
  "superseded",
  "deprecated",
] as const;
export const VersionState = z.enum(VERSION_STATES).meta({ id: "VersionState" });
export type VersionState = z.infer<typeof VersionState>;

export const TRANSITIONS: Record<VersionState, readonly VersionState[]> = {
  draft: ["validating"],
  // A failed (or abandoned) run returns the version to draft.
  validating: ["validated", "draft"],
  // Validate again, submit, or edit (which discards the validation).
  validated: ["validating", "submitted", "draft"],
  // Automated policy checks: rejected, auto-approved (data_only) or queued for a reviewer.
  submitted: ["in_review", "approved", "rejected"],
  in_review: ["approved", "rejected"],
  approved: ["published", "deprecated"],
  rejected: [],
  // Superseded when another version is published; deprecated with its package.
  published: ["superseded", "deprecated"],
  // Rolled back to, or deprecated.
  superseded: ["published", "deprecated"],
  deprecated: [],
};

export const canTransition = (from: VersionState, to: VersionState) => TRANSITIONS[from].includes(to);

/** 409 naming the states, so the caller sees why nothing happened. */
export function illegalTransition(from: VersionState, to: VersionState, action: string): ApiError {
  const allowedFrom = VERSION_STATES.filter((s) => TRANSITIONS[s].includes(to));
  const hint = allowedFrom.length ? ` (only from ${allowedFrom.join(", ")})` : "";
  return new ApiError("CONFLICT", `Cannot ${action} a version in state '${from}'${hint}`);
}

export function assertTransition(from: VersionState, to: VersionState, action: string): void {
  if (!canTransition(from, to)) throw illegalTransition(from, to, action);
}

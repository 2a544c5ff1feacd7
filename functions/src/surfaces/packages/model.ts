import { DAY, MINUTE } from "../../kernel/clock";
import { canonicalJson, sha256Hex } from "../../kernel/crypto";
import { conflict } from "../../kernel/errors";
import type { ListingMetadata, Package, Version } from "./schemas";

/** A run may hold a version in `validating` this long (covers the queue and the runner's 300 s timeout). */
export const RUN_LEASE_MS = 6 * MINUTE;
/** `submit` on a submitted version re-sends its message after this long (the first may have been lost). */
export const SUBMISSION_RETRY_MS = 5 * MINUTE;
/** How long `?wait=true` waits for a run to finish. */
export const WAIT_FOR_RUN_MS = 30_000;
/** A passing validation older than this must be repeated before the version is submitted. */
export const VALIDATION_MAX_AGE_MS = 30 * DAY;

export const listingOf = (p: Package): ListingMetadata => ({
  name: p.name,
  description: p.description,
  category: p.category,
  images: p.images,
  privacyPolicyUrl: p.privacyPolicyUrl,
  supportUrl: p.supportUrl,
});

/** Identifies what a validation run judged: the version's content and the package's listing metadata. */
export const fingerprintOf = (v: Pick<Version, "version" | "riskTier" | "capabilitiesJson" | "changelog">, listing: ListingMetadata) =>
  sha256Hex(canonicalJson({ version: v.version, riskTier: v.riskTier, capabilities: JSON.parse(v.capabilitiesJson), changelog: v.changelog, listing }));

/** Deprecated and orphaned packages take no new validations, submissions or publications. */
export function assertOpenForChanges(p: Package): void {
  if (p.deprecation) throw conflict(`Package ${p.id} is deprecated`);
  if (p.orphanedAt) throw conflict(`Package ${p.id} is orphaned (its app was deleted); move it to an app of yours with PATCH /v1/providers/packages/manage/${p.id} {"appId": ...}`);
}

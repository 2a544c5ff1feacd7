import type { z } from "zod";
import { type Clock, systemClock } from "../kernel/clock";
import { newId } from "../kernel/crypto";
import { db } from "../kernel/firebase";
import { log } from "../kernel/logger";
import { type DeliveredMessage, markProcessed, readMessage, wasProcessed } from "../kernel/pubsub";
import { type Account, findAccount } from "../domain/accounts/account";
import { findOwnedApp } from "../domain/accounts/app";
import { applyPublish } from "../domain/catalog/publishing";
import { readListing } from "../domain/catalog/listing";
import { policyFindings } from "../domain/conformance/policy";
import { compareSemVer } from "../domain/packages/descriptor";
import { type Notice, notifyProvider } from "../domain/packages/notices";
import { findPackage, type ListingMetadata, type Package } from "../domain/packages/package";
import { estimateReview, packageSubmissions, type QueueEstimate, type ReviewDoc, reviews } from "../domain/packages/review";
import { findVersion, parseCapabilities, systemActor, type Version, VersionChange, type VersionDoc } from "../domain/packages/version";
import type { JobOutcome } from "./conformance";

const POLICY = "policy-checks";

type SubmissionMessage = z.output<typeof packageSubmissions.message>;

/** Everything the automated policy checks decide on, read in the handler's transaction. */
export interface SubmissionFacts {
  pkg: Package;
  version: Version & { listing: ListingMetadata; review: NonNullable<VersionDoc["review"]> };
  account: Account;
  appExists: boolean;
  /** The package's current (published) version, if any. */
  current: Version | null;
  /** Where the version would stand in the review queue (read only for tiers that are reviewed by hand). */
  estimate: QueueEstimate | null;
  reviewId: string;
  now: Date;
}

/** What the checks decided, as the writes that carry it out. */
export interface SubmissionPlan {
  to: "rejected" | "approved" | "in_review";
  action: string;
  reason: string;
  review: NonNullable<VersionDoc["review"]>;
  /** The review to queue, for tiers that are reviewed by hand. */
  queue: ReviewDoc | null;
  /** List the version in the catalog now (an approved data_only version the package has not moved past). */
  publish: boolean;
  notices: Notice[];
}

/**
 * The automated policy checks as a pure decision: a finding rejects the version; a data_only
 * version that passes is approved and listed at once (unless the package moved on meanwhile);
 * other tiers join the manual review queue.
 */
export function planSubmission(f: SubmissionFacts): SubmissionPlan {
  const { pkg, version, now } = f;
  const title = `${pkg.name} ${version.version}`;
  const base = { packageId: pkg.id, versionId: version.id, version: version.version, riskTier: version.riskTier };
  const findings = policyFindings({
    account: f.account,
    appExists: f.appExists,
    pkg,
    listing: version.listing,
    capabilities: parseCapabilities(version.capabilitiesJson),
  });

  if (findings.length) {
    const reasons = findings.map((r) => ({ message: r.message, path: r.path, ruleId: r.ruleId }));
    return {
      to: "rejected",
      action: "reject",
      reason: `Automated policy checks failed: ${findings.map((r) => r.ruleId).join(", ")}`,
      review: { ...version.review, status: "rejected", decidedAt: now, decidedBy: "system", reasons },
      queue: null,
      publish: false,
      notices: [
        {
          type: "package.review.rejected",
          data: { ...base, reasons, notes: null },
          mail: {
            subject: `${title} was not approved`,
            paragraphs: [
              `${title} failed the automated policy checks:`,
              ...reasons.map((r) => `- ${r.ruleId} at ${r.path}: ${r.message}`),
              "Fix them in a new version, validate it and submit it again.",
            ],
          },
        },
      ],
    };
  }

  if (version.riskTier === "data_only") {
    const listable = !pkg.deprecation && !pkg.orphanedAt && (!f.current || compareSemVer(version.version, f.current.version) > 0);
    const approved: Notice = {
      type: "package.review.approved",
      data: { ...base, reasons: [], notes: null },
      ...(listable
        ? {}
        : {
            mail: {
              subject: `${title} was approved`,
              paragraphs: [
                `${title} passed the automated policy checks. It was not listed automatically because the package changed meanwhile (deprecated, or a newer version is current).`,
              ],
            },
          }),
    };
    const published: Notice = {
      type: "package.version.published",
      data: { ...base, rollback: false, previousVersion: f.current?.version ?? null },
      mail: {
        subject: `${title} is live in the catalog`,
        paragraphs: [`${title} passed the automated policy checks and is now listed in the catalog.`],
      },
    };
    return {
      to: "approved",
      action: "approve",
      reason: "data_only version passed the automated policy checks",
      review: { ...version.review, status: "approved", decidedAt: now, decidedBy: "system" },
      queue: null,
      publish: listable,
      notices: listable ? [approved, published] : [approved],
    };
  }

  const estimate = f.estimate;
  if (!estimate) throw new Error(`No queue estimate for ${title}, which is reviewed by hand`);
  const days = Math.max(1, Math.round((estimate.expectedReviewBy.getTime() - now.getTime()) / 86_400_000));
  return {
    to: "in_review",
    action: "queue for review",
    reason: `Passed the automated policy checks; queued for manual review (${version.riskTier})`,
    review: { ...version.review, reviewId: f.reviewId, status: "queued", queuedAt: now },
    queue: {
      packageId: pkg.id,
      versionId: version.id,
      accountId: version.accountId,
      appId: pkg.appId,
      packageName: version.listing.name,
      slug: pkg.slug,
      version: version.version,
      riskTier: version.riskTier,
      status: "queued",
      queuedAt: now,
      claimedBy: null,
      claimedAt: null,
      claimExpiresAt: null,
      decidedAt: null,
      decidedBy: null,
      reasons: [],
      notes: null,
    },
    publish: false,
    notices: [
      {
        type: "package.review.queued",
        data: { ...base, expectedReviewBy: estimate.expectedReviewBy.toISOString() },
        mail: {
          subject: `${title} is in the review queue`,
          paragraphs: [
            `${title} passed the automated policy checks and waits for a reviewer (${version.riskTier} packages are reviewed by hand).`,
            `Expected decision by ${estimate.expectedReviewBy.toISOString().slice(0, 10)} (about ${days} day${days === 1 ? "" : "s"}).`,
          ],
        },
      },
    ],
  };
}

/**
 * Runs the automated policy checks of a submitted version (topic `package-submissions`).
 * Idempotent per message id, and stale once the version left `submitted` or was submitted again.
 */
export class SubmissionChecker {
  constructor(private readonly clock: Clock = systemClock) {}

  async handle(message: DeliveredMessage): Promise<JobOutcome> {
    const parsed = readMessage(packageSubmissions, message, POLICY);
    return parsed ? this.check(parsed, message.messageId) : "invalid";
  }

  async check(message: SubmissionMessage, eventId: string): Promise<JobOutcome> {
    const { packageId, versionId, submissionId } = message;
    const outcome = await db().runTransaction(async (tx): Promise<JobOutcome> => {
      const now = this.clock.now();
      if (await wasProcessed(tx, POLICY, eventId)) return "duplicate";
      const version = await findVersion(packageId, versionId, tx);
      const pkg = await findPackage(packageId, tx);
      if (!version || !pkg || version.state !== "submitted" || version.submission?.id !== submissionId || !version.listing || !version.review)
        return "stale";
      const account = await findAccount(version.accountId, tx);
      if (!account) throw new Error(`Account ${version.accountId} is missing`);
      const appExists = (await findOwnedApp(pkg.accountId, pkg.appId, tx)) !== null;
      const current = pkg.currentVersionId ? await findVersion(packageId, pkg.currentVersionId, tx) : null;
      const listing = await readListing(tx, packageId);
      const estimate = version.riskTier === "data_only" ? null : await estimateReview(now, now);

      const reviewId = newId("rev");
      const plan = planSubmission({
        pkg,
        version: { ...version, listing: version.listing, review: version.review },
        account,
        appExists,
        current,
        estimate,
        reviewId,
        now,
      });

      const change = new VersionChange(packageId, version, now)
        .to(plan.to, systemActor(POLICY), plan.reason, plan.action)
        .set({ review: plan.review });
      if (plan.queue) tx.create(reviews().doc(reviewId), plan.queue);
      if (plan.publish) {
        const currentChange = current ? new VersionChange(packageId, current, now) : null;
        applyPublish(tx, {
          pkg,
          target: change,
          current: currentChange,
          listing,
          providerName: account.companyName,
          actor: systemActor(POLICY),
          reason: "Listed automatically (data_only)",
          now,
        });
      } else {
        change.write(tx);
      }
      for (const notice of plan.notices) notifyProvider(tx, account, pkg.appId, notice, now);
      markProcessed(tx, POLICY, eventId, now);
      return "done";
    });
    log.jobDone(POLICY, eventId, outcome);
    return outcome;
  }
}

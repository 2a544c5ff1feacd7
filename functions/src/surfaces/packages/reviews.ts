import type { Transaction } from "firebase-admin/firestore";
import { type z } from "zod";
import { type Clock, systemClock } from "../../kernel/clock";
import { ApiError, assert, conflict, forbidden, notFound } from "../../kernel/errors";
import { db } from "../../kernel/firebase";
import type { Page } from "../../kernel/http/envelope";
import { accounts } from "../../domain/accounts/account";
import type { ReviewerPrincipal } from "../../kernel/auth/principal";
import { notifyProvider } from "../../domain/packages/notices";
import { findPackage } from "../../domain/packages/package";
import { findReview, listReviews, reviews, type Review, type ReviewReason, type ReviewStatus, CLAIM_TTL_MS } from "../../domain/packages/review";
import { findRun, type ValidationRun } from "../../domain/conformance/validationRun";
import { findVersion, reviewerActor, VersionChange } from "../../domain/packages/version";
import { type ApproveBody, type RejectBody } from "./schemas";
import { type Version } from "../../domain/packages/version";

export interface ReviewDetail {
  review: Review;
  version: Version;
  run: ValidationRun | null;
}

export class ReviewService {
  constructor(private readonly clock: Clock = systemClock) {}

  async listQueue(status: ReviewStatus, limit: number, offset: number): Promise<Page<Review>> {
    const { items, total } = await listReviews(status, limit, offset);
    return { items, total, limit, offset };
  }

  async getReview(reviewId: string): Promise<ReviewDetail> {
    const review = await findReview(reviewId);
    assert(review, notFound("review", reviewId));
    const version = await findVersion(review.packageId, review.versionId);
    assert(version, notFound("review", reviewId));
    const run = version.validation ? await findRun(review.packageId, review.versionId, version.validation.runId) : null;
    return { review, version, run };
  }

  /** The review, if it exists, is still undecided and is not of the reviewer's own account. */
  private async undecidedReview(tx: Transaction, reviewer: ReviewerPrincipal, reviewId: string): Promise<Review> {
    const review = await findReview(reviewId, tx);
    assert(review, notFound("review", reviewId));
    if (reviewer.user.uid === review.accountId) throw forbidden("Reviewers cannot review their own account's packages");
    if (review.status === "approved" || review.status === "rejected") throw conflict(`Review ${reviewId} is already ${review.status}`);
    return review;
  }

  /** Takes a queued review (or one whose claim lapsed); claiming your own claim again extends it. */
  async claim(reviewer: ReviewerPrincipal, reviewId: string): Promise<Review> {
    const now = this.clock.now();
    return db().runTransaction(async (tx) => {
      const review = await this.undecidedReview(tx, reviewer, reviewId);
      const heldByOther =
        review.status === "claimed" && review.claimedBy !== reviewer.user.uid && review.claimExpiresAt !== null && review.claimExpiresAt > now;
      if (heldByOther) throw conflict(`Review ${reviewId} is claimed by another reviewer until ${review.claimExpiresAt!.toISOString()}`);
      const update = {
        status: "claimed" as const,
        claimedBy: reviewer.user.uid,
        claimedAt: now,
        claimExpiresAt: new Date(now.getTime() + CLAIM_TTL_MS),
      };
      tx.update(reviews().doc(reviewId), update);
      return { ...review, ...update };
    });
  }

  async approve(reviewer: ReviewerPrincipal, reviewId: string, body: z.output<typeof ApproveBody>): Promise<Review> {
    return this.decide(reviewer, reviewId, "approved", [], body.notes ?? null);
  }

  async reject(reviewer: ReviewerPrincipal, reviewId: string, body: z.output<typeof RejectBody>): Promise<Review> {
    const reasons: ReviewReason[] = body.reasons.map((r) => ({ message: r.message, path: r.path ?? null, ruleId: null }));
    return this.decide(reviewer, reviewId, "rejected", reasons, body.notes ?? null);
  }

  private async decide(
    reviewer: ReviewerPrincipal,
    reviewId: string,
    decision: "approved" | "rejected",
    reasons: ReviewReason[],
    notes: string | null,
  ): Promise<Review> {
    const now = this.clock.now();
    return db().runTransaction(async (tx) => {
      const review = await this.undecidedReview(tx, reviewer, reviewId);
      if (review.status !== "claimed" || review.claimedBy !== reviewer.user.uid) {
        throw conflict(`Claim review ${reviewId} first (POST /v1/providers/packages/reviews/${reviewId}/claim)`);
      }
      const version = await findVersion(review.packageId, review.versionId, tx);
      const pkg = await findPackage(review.packageId, tx);
      const account = (await tx.get(accounts().doc(review.accountId))).data();
      if (!version || !pkg || !account) throw new ApiError("INTERNAL", `Review ${reviewId} points at a missing package, version or account`);

      const change = new VersionChange(pkg.id, version, now);
      const why = decision === "approved" ? (notes ?? "Approved by a reviewer") : reasons.map((r) => r.message).join("; ");
      change.to(decision, reviewerActor(reviewer.user.uid), why, decision === "approved" ? "approve" : "reject");
      change.set({ review: { ...version.review!, status: decision, decidedAt: now, decidedBy: "reviewer", reasons, notes } });
      change.write(tx);
      const update = { status: decision, decidedAt: now, decidedBy: reviewer.user.uid, reasons, notes };
      tx.update(reviews().doc(reviewId), update);

      const subject = `${pkg.name} ${version.version}`;
      const data = { packageId: pkg.id, versionId: version.id, version: version.version, riskTier: version.riskTier, reasons, notes };
      notifyProvider(
        tx,
        { id: review.accountId, ...account },
        pkg.appId,
        decision === "approved"
          ? {
              type: "package.review.approved",
              data,
              mail: {
                subject: `${subject} was approved`,
                paragraphs: [
                  `${subject} passed review.`,
                  `Publish it when you are ready: POST /v1/providers/packages/manage/${pkg.id}/versions/${version.id}/publish`,
                  ...(notes ? [`Reviewer notes: ${notes}`] : []),
                ],
              },
            }
          : {
              type: "package.review.rejected",
              data,
              mail: {
                subject: `${subject} was not approved`,
                paragraphs: [
                  `${subject} did not pass review. The reviewer's reasons:`,
                  ...reasons.map((r) => `- ${r.message}${r.path ? ` (${r.path})` : ""}`),
                  ...(notes ? [`Notes: ${notes}`] : []),
                  "Fix them in a new version, validate it and submit it again.",
                ],
              },
            },
        now,
      );
      return { ...review, ...update };
    });
  }
}

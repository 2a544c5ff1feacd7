import type { Transaction } from "firebase-admin/firestore";
import { z } from "zod";
import { DAY, HOUR, MINUTE } from "../../kernel/clock";
import { pageOf, typedCollection, zDate } from "../../kernel/firestore";
import { defineTopic } from "../../kernel/pubsub";
import { RiskTier } from "./descriptor";

/** A submitted version's message to the automated policy checks (jobs/submissions.ts). */
export const packageSubmissions = defineTopic(
  "package-submissions",
  z.object({ packageId: z.string(), versionId: z.string(), submissionId: z.string() }),
);

/** `submit` on a submitted version re-sends its message after this long (the first may have been lost). */
export const SUBMISSION_RETRY_MS = 5 * MINUTE;
/** A passing validation older than this must be repeated before the version is submitted. */
export const VALIDATION_MAX_AGE_MS = 30 * DAY;
/** Documented reviewer throughput behind the expected review time (docs/packages.md#expected-review-time). */
const REVIEWS_PER_BUSINESS_DAY = 10;
/** A claim lapses after this long, so a review a reviewer walked away from returns to the queue. */
export const CLAIM_TTL_MS = 4 * HOUR;

const REVIEW_STATUSES = ["queued", "claimed", "approved", "rejected"] as const;
export const ReviewStatus = z.enum(REVIEW_STATUSES).meta({ id: "ReviewStatus" });
export type ReviewStatus = z.infer<typeof ReviewStatus>;

export const ReviewReason = z
  .object({
    message: z.string(),
    path: z.string().nullable().meta({ description: "JSON path the reason points at, when it concerns one field." }),
    ruleId: z.string().nullable().meta({ description: "Policy rule id, for automated rejections." }),
  })
  .meta({ id: "ReviewReason" });
export type ReviewReason = z.infer<typeof ReviewReason>;

/** reviews/{id}: the manual review queue. */
export const ReviewDoc = z.object({
  packageId: z.string(),
  versionId: z.string(),
  accountId: z.string(),
  appId: z.string(),
  packageName: z.string(),
  slug: z.string(),
  version: z.string(),
  riskTier: RiskTier,
  status: ReviewStatus,
  queuedAt: zDate,
  claimedBy: z.string().nullable(),
  claimedAt: zDate.nullable(),
  claimExpiresAt: zDate.nullable(),
  decidedAt: zDate.nullable(),
  decidedBy: z.string().nullable(),
  reasons: z.array(ReviewReason),
  notes: z.string().nullable(),
});
export type ReviewDoc = z.infer<typeof ReviewDoc>;
export type Review = ReviewDoc & { id: string };

export const reviews = () => typedCollection("reviews", ReviewDoc);

export async function findReview(reviewId: string, tx?: Transaction): Promise<Review | null> {
  const ref = reviews().doc(reviewId);
  const snap = tx ? await tx.get(ref) : await ref.get();
  const data = snap.data();
  return data ? { id: snap.id, ...data } : null;
}

/** The review queue, oldest first. */
export const listReviews = (status: ReviewStatus, limit: number, offset: number) =>
  pageOf(reviews().where("status", "==", status), "queuedAt", "asc", limit, offset);

/** Reviews still waiting (queued or claimed) that were queued before `queuedAt`. */
async function countReviewsAhead(queuedAt: Date): Promise<number> {
  const snap = await reviews().where("status", "in", ["queued", "claimed"]).where("queuedAt", "<", queuedAt).count().get();
  return snap.data().count;
}

/** `days` business days (Monday to Friday, UTC) after `from`. */
export function addBusinessDays(from: Date, days: number): Date {
  const date = new Date(from);
  let left = days;
  while (left > 0) {
    date.setTime(date.getTime() + DAY);
    const weekday = date.getUTCDay();
    if (weekday !== 0 && weekday !== 6) left--;
  }
  return date;
}

export interface QueueEstimate {
  position: number;
  expectedReviewBy: Date;
}

/**
 * Expected decision time of a queued review: reviewers work oldest first at the documented
 * throughput, so a review at `position` is reached after ceil(position / throughput) business
 * days (at least one), counted from today and given as the end of that day (UTC), so that the
 * estimate only moves when the queue does.
 */
export async function estimateReview(queuedAt: Date, now: Date): Promise<QueueEstimate> {
  const position = (await countReviewsAhead(queuedAt)) + 1;
  const days = Math.max(1, Math.ceil(position / REVIEWS_PER_BUSINESS_DAY));
  const endOfToday = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 23, 59, 59, 999));
  return { position, expectedReviewBy: addBusinessDays(endOfToday, days) };
}

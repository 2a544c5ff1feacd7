import type { Account } from "../../src/domain/accounts/account";
import type { Package } from "../../src/domain/packages/package";
import type { Version } from "../../src/domain/packages/version";
import { planSubmission, type SubmissionFacts } from "../../src/jobs/submissions";
import { completeListing, weatherForecast } from "../helpers/descriptors";

/** The automated policy checks' decision, without Firestore: the facts in, the writes out. */
const now = new Date("2026-03-02T10:00:00Z");
const listing = { name: "Acme Weather", ...completeListing(), category: "weather" as const };
const account: Account = {
  id: "acc_1",
  companyName: "Acme",
  email: "a@acme.example",
  contactEmail: "a@acme.example",
  status: "active",
  planTier: "free",
  customRateLimitPerMinute: null,
  notificationPreferences: { review_updates: true, quality_alerts: true, webhook_failures: true, product_news: false },
  emailVerifiedAt: now,
  createdAt: now,
  updatedAt: now,
};
const pkg = (over: Partial<Package> = {}): Package => ({
  id: "pkg_1",
  accountId: "acc_1",
  appId: "app_1",
  slug: "acme-weather",
  status: "draft",
  riskTier: "data_only",
  currentVersionId: null,
  currentVersion: null,
  latestVersion: "1.0.0",
  versionCount: 1,
  deprecation: null,
  orphanedAt: null,
  catalogRemovalDueAt: null,
  catalogRemovedAt: null,
  createdAt: now,
  updatedAt: now,
  ...listing,
  ...over,
});
const version = (over: Partial<Version> = {}): SubmissionFacts["version"] =>
  ({
    id: "ver_1",
    packageId: "pkg_1",
    accountId: "acc_1",
    version: "1.0.0",
    riskTier: "data_only",
    capabilitiesJson: JSON.stringify([weatherForecast()]),
    changelog: null,
    state: "submitted",
    stateChangedAt: now,
    transitionCount: 4,
    validation: null,
    submission: { id: "sub_1", at: now, by: "acc_1" },
    publishedAt: null,
    deprecation: null,
    createdAt: now,
    updatedAt: now,
    listing,
    review: { reviewId: null, status: "pending", queuedAt: null, decidedAt: null, decidedBy: null, reasons: [], notes: null },
    ...over,
  }) as SubmissionFacts["version"];
const facts = (over: Partial<SubmissionFacts> = {}): SubmissionFacts => ({
  pkg: pkg(),
  version: version(),
  account,
  appExists: true,
  current: null,
  estimate: null,
  reviewId: "rev_1",
  now,
  ...over,
});

describe("submission planning (the pure half of the policy checks)", () => {
  it("approves and lists a clean data_only version at once, with the approval and the publication", () => {
    const plan = planSubmission(facts());
    expect(plan).toEqual(expect.objectContaining({ to: "approved", publish: true, queue: null }));
    expect(plan.review).toEqual(expect.objectContaining({ status: "approved", decidedBy: "system", decidedAt: now }));
    expect(plan.notices.map((n) => n.type)).toEqual(["package.review.approved", "package.version.published"]);
  });

  it("approves without listing when the package moved on (deprecated, or a newer version is current), and says so by mail", () => {
    const newer = { ...version(), id: "ver_2", version: "2.0.0" } as Version;
    for (const moved of [facts({ pkg: pkg({ deprecation: { reason: "old", successorPackageId: null, at: now } }) }), facts({ current: newer })]) {
      const plan = planSubmission(moved);
      expect(plan).toEqual(expect.objectContaining({ to: "approved", publish: false }));
      expect(plan.notices.map((n) => [n.type, Boolean(n.mail)])).toEqual([["package.review.approved", true]]);
    }
  });

  it("rejects on any policy finding, naming each rule and path", () => {
    const plan = planSubmission(
      facts({ appExists: false, pkg: pkg({ name: "Official Weather" }), version: version({ listing: { ...listing, name: "Official Weather" } }) }),
    );
    expect(plan.to).toBe("rejected");
    expect(plan.review.reasons.map((r) => r.ruleId).sort()).toEqual(["policy.app_missing", "policy.reserved_term"]);
    expect(plan.notices.map((n) => n.type)).toEqual(["package.review.rejected"]);
    expect(plan.publish).toBe(false);
  });

  it("queues tiers reviewed by hand, with the review to create and the expected decision date", () => {
    const expectedReviewBy = new Date("2026-03-04T23:59:59.999Z");
    const plan = planSubmission(facts({ version: version({ riskTier: "read_personal" }), estimate: { position: 3, expectedReviewBy } }));
    expect(plan.to).toBe("in_review");
    expect(plan.queue).toEqual(
      expect.objectContaining({ packageId: "pkg_1", versionId: "ver_1", status: "queued", riskTier: "read_personal", queuedAt: now }),
    );
    expect(plan.review).toEqual(expect.objectContaining({ reviewId: "rev_1", status: "queued" }));
    expect(plan.notices[0]).toEqual(
      expect.objectContaining({ type: "package.review.queued", data: expect.objectContaining({ expectedReviewBy: expectedReviewBy.toISOString() }) }),
    );
  });
});

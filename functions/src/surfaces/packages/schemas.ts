import { z } from "zod";
import { iso, isoOrNull, PageQuery, IsoDate } from "../../kernel/http/envelope";
import { readOnlyFields } from "../../kernel/validation";
import { secureUrl } from "../../kernel/urls";
import { Finding, type Dimension, DIMENSIONS } from "../../domain/conformance/rules";
import { ProbeSummary } from "../../domain/conformance/suite";
import { Capabilities, CapabilityDescriptor, Category, RiskTier, SemVer } from "../../domain/packages/descriptor";
import { VersionState } from "../../domain/packages/versionStates";
import { Actor, RunStatus, parseCapabilities } from "../../domain/packages/version";
import { AppId } from "../../domain/accounts/app";
import { ListingMetadata, type Package, PackageId, PackageStatus } from "../../domain/packages/package";
import { type QueueEstimate, type Review } from "../../domain/packages/review";
import { ReviewReason, ReviewStatus } from "../../domain/packages/review";
import { type TransitionDoc, type Version } from "../../domain/packages/version";
import { type ValidationRun } from "../../domain/conformance/validationRun";

// ---------- Requests ----------

const VersionId = z
  .string()
  .regex(/^ver_[0-9A-Za-z]{20}$/)
  .meta({ example: "ver_7fJ2kL9mN3pQ5rS8tU1v" });
const RunId = z
  .string()
  .regex(/^run_[0-9A-Za-z]{20}$/)
  .meta({ example: "run_1aB2cD3eF4gH5iJ6kL7m" });
const ReviewId = z
  .string()
  .regex(/^rev_[0-9A-Za-z]{20}$/)
  .meta({ example: "rev_9zY8xW7vU6tS5rQ4pO3n" });

export const PackageParams = z.object({ id: PackageId });
export const VersionParams = z.object({ id: PackageId, vid: VersionId });
export const RunParams = z.object({ id: PackageId, vid: VersionId, runId: RunId });
export const ReviewParams = z.object({ reviewId: ReviewId });

const name = z.string().trim().min(1).max(80);
const description = z.string().trim().min(1).max(4000);
const slug = z
  .string()
  .min(3)
  .max(64)
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, "Must be lowercase letters and digits separated by single hyphens (URL-safe)")
  .meta({ example: "acme-weather" });
const ImagesBody = z
  .strictObject({
    icon: secureUrl().nullable().optional(),
    screenshots: z.array(secureUrl()).max(8).optional(),
  })
  .meta({ id: "PackageImagesRequest", description: "Listing images as https URLs (an icon and up to 8 screenshots)." });
const changelog = z.string().trim().min(1).max(5000);
const reason = z.string().trim().min(1).max(1000);

export const CreatePackageBody = z
  .strictObject({
    appId: AppId.meta({ description: "An app of your account; its runtime serves the package's capabilities." }),
    name: name.meta({ example: "Acme Weather" }),
    slug,
    description,
    riskTier: RiskTier,
    capabilities: Capabilities,
    category: Category.nullable().optional(),
    version: SemVer.optional().meta({ description: "Semantic version of the first version (default 1.0.0)." }),
    changelog: changelog.optional(),
    images: ImagesBody.optional(),
    privacyPolicyUrl: secureUrl().nullable().optional(),
    supportUrl: secureUrl().nullable().optional(),
  })
  .meta({ id: "CreatePackageRequest" });

export const UpdatePackageBody = readOnlyFields([
  "id",
  "slug",
  "status",
  "riskTier",
  "currentVersion",
  "latestVersion",
  "installCount",
  "versions",
  "createdAt",
  "updatedAt",
])
  .pipe(
    z
      .strictObject({
        name: name.optional(),
        description: description.optional(),
        category: Category.nullable().optional(),
        images: ImagesBody.optional(),
        privacyPolicyUrl: secureUrl().nullable().optional(),
        supportUrl: secureUrl().nullable().optional(),
        appId: AppId.optional().meta({ description: "Moves the package to another app of yours (re-homes an orphaned package)." }),
      })
      .refine((v) => Object.keys(v).length > 0, { message: "Provide at least one field to update" }),
  )
  .meta({ id: "UpdatePackageRequest" });

export const CreateVersionBody = z
  .strictObject({
    capabilities: Capabilities,
    changelog: changelog.optional(),
    version: SemVer.optional().meta({ description: "Must be greater than every existing version (default: the next minor)." }),
    riskTier: RiskTier.optional().meta({ description: "Default: the newest version's tier." }),
  })
  .meta({ id: "CreateVersionRequest" });

export const UpdateVersionBody = z
  .strictObject({
    capabilities: Capabilities.optional(),
    changelog: changelog.nullable().optional(),
    riskTier: RiskTier.optional(),
  })
  .refine((v) => Object.keys(v).length > 0, { message: "Provide at least one field to update" })
  .meta({ id: "UpdateVersionRequest" });

export const ValidateQuery = z.object({
  wait: z
    .stringbool()
    .default(false)
    .meta({ description: "Wait (up to 30 s) for the run to finish and answer 200 with the result; 202 with the unfinished run if it takes longer." }),
});

export const ListPackagesQuery = PageQuery.extend({ status: PackageStatus.optional() });

export const ReviewQueueQuery = PageQuery.extend({
  status: ReviewStatus.default("queued").meta({ description: "Default `queued` (waiting for a reviewer)." }),
});

export const DeprecatePackageBody = z
  .strictObject({ reason, successorPackageId: PackageId.optional().meta({ description: "A package of yours that replaces this one." }) })
  .meta({ id: "DeprecatePackageRequest" });

export const DeprecateVersionBody = z
  .strictObject({ reason, successorVersionId: VersionId.optional().meta({ description: "A version of the same package that replaces this one." }) })
  .meta({ id: "DeprecateVersionRequest" });

export const RollbackBody = z.strictObject({ reason: reason.optional() }).meta({ id: "RollbackRequest" });

export const ApproveBody = z.strictObject({ notes: z.string().trim().min(1).max(2000).optional() }).meta({ id: "ApproveReviewRequest" });

export const RejectBody = z
  .strictObject({
    reasons: z
      .array(z.strictObject({ message: z.string().trim().min(1).max(1000), path: z.string().trim().min(1).max(300).optional() }))
      .min(1)
      .max(20),
    notes: z.string().trim().min(1).max(2000).optional(),
  })
  .meta({ id: "RejectReviewRequest" });

// ---------- Responses ----------

const ImagesOut = z.object({ icon: z.string().nullable(), screenshots: z.array(z.string()) }).meta({ id: "PackageImages" });

export const PackageOut = z
  .object({
    id: z.string(),
    appId: z.string(),
    name: z.string(),
    slug: z.string(),
    description: z.string(),
    category: Category.nullable(),
    images: ImagesOut,
    privacyPolicyUrl: z.string().nullable(),
    supportUrl: z.string().nullable(),
    status: PackageStatus,
    riskTier: RiskTier,
    currentVersion: z.object({ id: z.string(), version: z.string() }).nullable().meta({ description: "The version in the catalog." }),
    latestVersion: z.string(),
    installCount: z.number().int(),
    orphaned: z.boolean(),
    catalogRemovalDueAt: IsoDate.nullable().meta({ description: "When an orphaned package leaves the catalog." }),
    deprecation: z.object({ reason: z.string(), successorPackageId: z.string().nullable(), deprecatedAt: IsoDate }).nullable(),
    createdAt: IsoDate,
    updatedAt: IsoDate,
  })
  .meta({ id: "Package" });

export const TransitionOut = z
  .object({
    from: VersionState.nullable(),
    to: VersionState,
    at: IsoDate,
    actor: z.object({
      type: Actor.shape.type,
      id: z.string().nullable().meta({ description: "Your uid, or a job's name; reviewers stay anonymous." }),
    }),
    reason: z.string(),
  })
  .meta({ id: "VersionTransition" });

const ScoreOut = z
  .object({
    overall: z.number().int(),
    dimensions: z.object(Object.fromEntries(DIMENSIONS.map((d) => [d, z.number().int()])) as Record<Dimension, z.ZodNumber>),
  })
  .meta({ id: "ConformanceScore" });

export const VersionSummaryOut = z
  .object({
    id: z.string(),
    version: z.string(),
    state: VersionState,
    riskTier: RiskTier,
    changelog: z.string().nullable(),
    capabilityCount: z.number().int(),
    validation: z
      .object({
        runId: z.string(),
        status: RunStatus,
        score: z.number().int().nullable(),
        passed: z.boolean().nullable(),
        finishedAt: IsoDate.nullable(),
      })
      .nullable(),
    review: z
      .object({
        status: z.enum(["pending", "queued", "approved", "rejected"]),
        reasons: z.array(ReviewReason),
        notes: z.string().nullable(),
        decidedBy: z.enum(["system", "reviewer"]).nullable(),
        queuedAt: IsoDate.nullable(),
        decidedAt: IsoDate.nullable(),
        queuePosition: z.number().int().nullable().meta({ description: "1 = next to be reviewed (queued versions only)." }),
        expectedReviewBy: IsoDate.nullable().meta({
          description: "Expected decision time for queued versions (docs/packages.md#expected-review-time).",
        }),
      })
      .nullable(),
    publishedAt: IsoDate.nullable(),
    deprecation: z.object({ reason: z.string(), successorVersionId: z.string().nullable(), deprecatedAt: IsoDate }).nullable(),
    history: z.array(TransitionOut).meta({ description: "Every state change, oldest first." }),
    createdAt: IsoDate,
    updatedAt: IsoDate,
  })
  .meta({ id: "VersionSummary" });

export const VersionOut = VersionSummaryOut.extend({
  packageId: z.string(),
  capabilities: z.array(CapabilityDescriptor),
  listing: ListingMetadata.extend({ images: ImagesOut }).nullable().meta({ description: "Listing metadata frozen at submission." }),
}).meta({ id: "PackageVersion" });

export const PackageDetailOut = PackageOut.extend({
  versions: z.array(VersionSummaryOut).meta({ description: "Every version, newest first, with its history." }),
}).meta({ id: "PackageWithVersions" });

export const RunOut = z
  .object({
    id: z.string(),
    packageId: z.string(),
    versionId: z.string(),
    version: z.string(),
    status: RunStatus,
    passed: z.boolean().nullable(),
    score: ScoreOut.nullable(),
    findings: z.array(Finding),
    probes: z.array(ProbeSummary),
    failure: z.string().nullable(),
    attempt: z.number().int(),
    requestedAt: IsoDate,
    startedAt: IsoDate.nullable(),
    finishedAt: IsoDate.nullable(),
    leaseExpiresAt: IsoDate,
  })
  .meta({ id: "ValidationRun" });

export const ReviewOut = z
  .object({
    id: z.string(),
    packageId: z.string(),
    versionId: z.string(),
    packageName: z.string(),
    slug: z.string(),
    version: z.string(),
    riskTier: RiskTier,
    status: ReviewStatus,
    queuedAt: IsoDate,
    claimedBy: z.string().nullable(),
    claimedAt: IsoDate.nullable(),
    claimExpiresAt: IsoDate.nullable(),
    decidedAt: IsoDate.nullable(),
    decidedBy: z.string().nullable(),
    reasons: z.array(ReviewReason),
    notes: z.string().nullable(),
  })
  .meta({ id: "Review" });

export const ReviewDetailOut = ReviewOut.extend({
  listing: ListingMetadata.extend({ images: ImagesOut }),
  capabilities: z.array(CapabilityDescriptor),
  validation: RunOut.nullable().meta({ description: "The passing validation run the version was submitted with." }),
}).meta({ id: "ReviewWithVersion" });

// ---------- Mappers ----------

export const toPackageOut = (p: Package, installCount: number): z.input<typeof PackageOut> => ({
  id: p.id,
  appId: p.appId,
  name: p.name,
  slug: p.slug,
  description: p.description,
  category: p.category,
  images: p.images,
  privacyPolicyUrl: p.privacyPolicyUrl,
  supportUrl: p.supportUrl,
  status: p.status,
  riskTier: p.riskTier,
  currentVersion: p.currentVersionId && p.currentVersion ? { id: p.currentVersionId, version: p.currentVersion } : null,
  latestVersion: p.latestVersion,
  installCount,
  orphaned: p.orphanedAt !== null,
  catalogRemovalDueAt: isoOrNull(p.catalogRemovalDueAt),
  deprecation: p.deprecation
    ? { reason: p.deprecation.reason, successorPackageId: p.deprecation.successorPackageId, deprecatedAt: iso(p.deprecation.at) }
    : null,
  createdAt: iso(p.createdAt),
  updatedAt: iso(p.updatedAt),
});

const toTransitionOut = (t: TransitionDoc): z.input<typeof TransitionOut> => ({
  from: t.from,
  to: t.to,
  at: iso(t.at),
  actor: { type: t.actor.type, id: t.actor.type === "reviewer" ? null : t.actor.id },
  reason: t.reason,
});

export const toVersionSummaryOut = (v: Version, history: TransitionDoc[], estimate: QueueEstimate | null): z.input<typeof VersionSummaryOut> => ({
  id: v.id,
  version: v.version,
  state: v.state,
  riskTier: v.riskTier,
  changelog: v.changelog,
  capabilityCount: parseCapabilities(v.capabilitiesJson).length,
  validation: v.validation
    ? {
        runId: v.validation.runId,
        status: v.validation.status,
        score: v.validation.overall,
        passed: v.validation.passed,
        finishedAt: isoOrNull(v.validation.finishedAt),
      }
    : null,
  review: v.review
    ? {
        status: v.review.status,
        reasons: v.review.reasons,
        notes: v.review.notes,
        decidedBy: v.review.decidedBy,
        queuedAt: isoOrNull(v.review.queuedAt),
        decidedAt: isoOrNull(v.review.decidedAt),
        queuePosition: estimate?.position ?? null,
        expectedReviewBy: estimate ? iso(estimate.expectedReviewBy) : null,
      }
    : null,
  publishedAt: isoOrNull(v.publishedAt),
  deprecation: v.deprecation
    ? { reason: v.deprecation.reason, successorVersionId: v.deprecation.successorVersionId, deprecatedAt: iso(v.deprecation.at) }
    : null,
  history: [...history].sort((a, b) => a.seq - b.seq).map(toTransitionOut),
  createdAt: iso(v.createdAt),
  updatedAt: iso(v.updatedAt),
});

export const toVersionOut = (v: Version, history: TransitionDoc[], estimate: QueueEstimate | null): z.input<typeof VersionOut> => ({
  ...toVersionSummaryOut(v, history, estimate),
  packageId: v.packageId,
  capabilities: parseCapabilities(v.capabilitiesJson),
  listing: v.listing,
});

export const toRunOut = (r: ValidationRun): z.input<typeof RunOut> => ({
  id: r.id,
  packageId: r.packageId,
  versionId: r.versionId,
  version: r.version,
  status: r.status,
  passed: r.report?.passed ?? null,
  score: r.report ? { overall: r.report.overall, dimensions: r.report.dimensions as Record<Dimension, number> } : null,
  findings: r.report?.findings ?? [],
  probes: r.report?.probes ?? [],
  failure: r.failure,
  attempt: r.attempt,
  requestedAt: iso(r.requestedAt),
  startedAt: isoOrNull(r.startedAt),
  finishedAt: isoOrNull(r.finishedAt),
  leaseExpiresAt: iso(r.leaseExpiresAt),
});

export const toReviewOut = (r: Review): z.input<typeof ReviewOut> => ({
  id: r.id,
  packageId: r.packageId,
  versionId: r.versionId,
  packageName: r.packageName,
  slug: r.slug,
  version: r.version,
  riskTier: r.riskTier,
  status: r.status,
  queuedAt: iso(r.queuedAt),
  claimedBy: r.claimedBy,
  claimedAt: isoOrNull(r.claimedAt),
  claimExpiresAt: isoOrNull(r.claimExpiresAt),
  decidedAt: isoOrNull(r.decidedAt),
  decidedBy: r.decidedBy,
  reasons: r.reasons,
  notes: r.notes,
});

import { type z } from "zod";
import { PageQuery } from "../../kernel/http/envelope";
import { listRoute, reply, route } from "../../kernel/http/route";
import type { Surface } from "../../kernel/http/surface";
import { providerAccount } from "../../domain/accounts/principals";
import { reviewerUser } from "../../kernel/auth/firebaseUser";
import { ReviewService } from "./reviews";
import {
  ApproveBody,
  CreatePackageBody,
  CreateVersionBody,
  DeprecatePackageBody,
  DeprecateVersionBody,
  ListPackagesQuery,
  PackageDetailOut,
  PackageOut,
  PackageParams,
  RejectBody,
  ReviewDetailOut,
  ReviewOut,
  ReviewParams,
  ReviewQueueQuery,
  RollbackBody,
  RunOut,
  RunParams,
  toPackageOut,
  toReviewOut,
  toRunOut,
  toVersionOut,
  toVersionSummaryOut,
  UpdatePackageBody,
  UpdateVersionBody,
  ValidateQuery,
  VersionOut,
  VersionParams,
} from "./schemas";
import { PackagesService, type PackageView, type VersionView } from "./service";

const tags = { packages: ["Package Management"], versions: ["Package Management: Versions"], reviews: ["Package Management: Reviews"] };
const BASE = "/v1/providers/packages/manage";

const toDetail = (view: PackageView): z.input<typeof PackageDetailOut> => ({
  ...toPackageOut(view.pkg, view.installCount),
  versions: view.versions.map((v) => toVersionSummaryOut(v.version, v.history, v.estimate)),
});
const toVersion = (view: VersionView) => toVersionOut(view.version, view.history, view.estimate);

export function packagesSurface(service = new PackagesService(), reviews = new ReviewService()): Surface {
  return {
    name: "packages",
    routes: [
      route({
        method: "post",
        operationId: "createPackage",
        idempotency: "plain",
        path: BASE,
        summary: "Create a package with its first version",
        description:
          "Creates the package and version 1 (default `1.0.0`) in `draft`. The slug is unique across the platform. See docs/packages.md for the capability descriptor.",
        tags: tags.packages,
        auth: providerAccount,
        body: CreatePackageBody,
        response: PackageDetailOut,
        status: 201,
        location: (pkg) => `${BASE}/${pkg.id}`,
        errors: ["FORBIDDEN", "ACCOUNT_NOT_VERIFIED", "NOT_FOUND", "CONFLICT"],
        handler: async ({ principal, body }) => toDetail(await service.createPackage(principal.account, body)),
      }),
      listRoute({
        method: "get",
        operationId: "listPackages",
        path: BASE,
        summary: "List your packages",
        description: "Newest first. `?status` filters (draft, published, deprecated); `?limit` (1–100, default 20) and `?offset` paginate.",
        tags: tags.packages,
        auth: providerAccount,
        query: ListPackagesQuery,
        response: PackageOut,
        errors: ["FORBIDDEN"],
        handler: async ({ principal, query }) => {
          const page = await service.listPackages(principal.account, query.status, query.limit, query.offset);
          return { ...page, items: page.items.map((p) => toPackageOut(p.pkg, p.installCount)) };
        },
      }),
      route({
        method: "get",
        operationId: "getPackage",
        path: `${BASE}/:id`,
        summary: "Retrieve a package with its version history",
        description:
          "Every version (newest first) with its state, validation, review (queue position and expected review time while queued) and its full transition history.",
        tags: tags.packages,
        auth: providerAccount,
        params: PackageParams,
        response: PackageDetailOut,
        errors: ["FORBIDDEN"],
        handler: async ({ principal, params }) => toDetail(await service.getPackage(principal.account, params.id)),
      }),
      route({
        method: "patch",
        operationId: "updatePackage",
        lock: (p) => `package ${p.id}`,
        ifMatch: `${BASE}/:id`,
        path: `${BASE}/:id`,
        summary: "Update package metadata and listing images",
        description:
          "Only the fields sent change. Published versions are not affected: listing changes reach the catalog with the next published version, " +
          "which is validated and reviewed with them. `appId` moves the package to another of your apps (re-homing an orphaned package).",
        tags: tags.packages,
        auth: providerAccount,
        params: PackageParams,
        body: UpdatePackageBody,
        response: PackageDetailOut,
        errors: ["FORBIDDEN"],
        handler: async ({ principal, params, body }) => toDetail(await service.updatePackage(principal.account, params.id, body)),
      }),
      route({
        method: "post",
        operationId: "deprecatePackage",
        lock: (p) => `package ${p.id}`,
        path: `${BASE}/:id/deprecate`,
        summary: "Deprecate a package",
        description:
          "The current version is deprecated with it; the catalog listing stays for existing installs, flagged and not installable. Optionally names a successor package.",
        tags: tags.packages,
        auth: providerAccount,
        params: PackageParams,
        body: DeprecatePackageBody,
        response: PackageDetailOut,
        errors: ["FORBIDDEN", "CONFLICT"],
        handler: async ({ principal, params, body }) => toDetail(await service.deprecatePackage(principal.account, params.id, body)),
      }),
      route({
        method: "post",
        operationId: "createPackageVersion",
        lock: (p) => `package ${p.id}`,
        idempotency: "plain",
        path: `${BASE}/:id/versions`,
        summary: "Create a new version",
        description:
          "A new version in `draft` with the given capabilities; its semantic version must be greater than every existing one (default: the next minor).",
        tags: tags.versions,
        auth: providerAccount,
        params: PackageParams,
        body: CreateVersionBody,
        response: VersionOut,
        status: 201,
        location: (version) => `${BASE}/${version.packageId}/versions/${version.id}`,
        errors: ["FORBIDDEN", "CONFLICT"],
        handler: async ({ principal, params, body }) => toVersion(await service.createVersion(principal.account, params.id, body)),
      }),
      route({
        method: "get",
        operationId: "getPackageVersion",
        path: `${BASE}/:id/versions/:vid`,
        summary: "Retrieve a version with its capabilities and history",
        tags: tags.versions,
        auth: providerAccount,
        params: VersionParams,
        response: VersionOut,
        errors: ["FORBIDDEN"],
        handler: async ({ principal, params }) => toVersion(await service.getVersion(principal.account, params.id, params.vid)),
      }),
      route({
        method: "patch",
        operationId: "updatePackageVersion",
        lock: (p) => `package ${p.id}`,
        ifMatch: `${BASE}/:id/versions/:vid`,
        path: `${BASE}/:id/versions/:vid`,
        summary: "Edit a draft version",
        description: "Drafts and validated versions only (a validated version returns to draft); a version is immutable once submitted.",
        tags: tags.versions,
        auth: providerAccount,
        params: VersionParams,
        body: UpdateVersionBody,
        response: VersionOut,
        errors: ["FORBIDDEN", "CONFLICT"],
        handler: async ({ principal, params, body }) => toVersion(await service.updateVersion(principal.account, params.id, params.vid, body)),
      }),
      route({
        method: "post",
        operationId: "validatePackageVersion",
        lock: (p) => `package ${p.id}`,
        path: `${BASE}/:id/versions/:vid/validate`,
        summary: "Run the conformance suite",
        description:
          "Queues a validation run (answered at once, 202, status `queued`) that a Pub/Sub-triggered runner executes; read it at the `Location` URL until it is `passed` or `failed`. " +
          "`?wait=true` waits up to 30 s and answers 200 with the finished run (202 if it is still running then). Six dimensions scored 0–100; a run passes at 80 or more with no error finding.",
        tags: tags.versions,
        auth: providerAccount,
        params: VersionParams,
        query: ValidateQuery,
        response: RunOut,
        status: 202,
        errors: ["FORBIDDEN", "CONFLICT", "SERVICE_UNAVAILABLE"],
        handler: async ({ principal, params, query }) => {
          let run = await service.requestValidation(principal.account, params.id, params.vid);
          const location = `${BASE}/${params.id}/versions/${params.vid}/validations/${run.id}`;
          if (query.wait) run = await service.waitForRun(params.id, params.vid, run.id);
          const finished = run.status === "passed" || run.status === "failed";
          return reply(toRunOut(run), { status: finished ? 200 : 202, headers: { Location: location } });
        },
      }),
      listRoute({
        method: "get",
        operationId: "listValidationRuns",
        path: `${BASE}/:id/versions/:vid/validations`,
        summary: "List a version's validation runs",
        description: "Newest first, with `?limit` and `?offset`.",
        tags: tags.versions,
        auth: providerAccount,
        params: VersionParams,
        query: PageQuery,
        response: RunOut,
        errors: ["FORBIDDEN"],
        handler: async ({ principal, params, query }) => {
          const page = await service.listRuns(principal.account, params.id, params.vid, query.limit, query.offset);
          return { ...page, items: page.items.map(toRunOut) };
        },
      }),
      route({
        method: "get",
        operationId: "getValidationRun",
        path: `${BASE}/:id/versions/:vid/validations/:runId`,
        summary: "Retrieve a validation run",
        description:
          "Scores, findings (rule id, severity, JSON path, message) and probe results once finished. A run whose lease expired unfinished reads as `failed`.",
        tags: tags.versions,
        auth: providerAccount,
        params: RunParams,
        response: RunOut,
        errors: ["FORBIDDEN"],
        handler: async ({ principal, params }) => toRunOut(await service.getRun(principal.account, params.id, params.vid, params.runId)),
      }),
      route({
        method: "post",
        operationId: "submitPackageVersion",
        lock: (p) => `package ${p.id}`,
        path: `${BASE}/:id/versions/:vid/submit`,
        summary: "Submit a version for review",
        description:
          "Needs a passing validation of exactly this version and the current listing. Automated policy checks run at once (Pub/Sub): `data_only` versions that pass are listed automatically; " +
          "higher tiers join the manual review queue (the version shows its queue position and expected review time). Answers 202 with the version (`submitted`).",
        tags: tags.versions,
        auth: providerAccount,
        params: VersionParams,
        response: VersionOut,
        status: 202,
        errors: ["FORBIDDEN", "CONFLICT", "SERVICE_UNAVAILABLE"],
        handler: async ({ principal, params }) => toVersion(await service.submitVersion(principal.account, params.id, params.vid)),
      }),
      route({
        method: "post",
        operationId: "publishPackageVersion",
        lock: (p) => `package ${p.id}`,
        path: `${BASE}/:id/versions/:vid/publish`,
        summary: "Publish an approved version",
        description: "Makes the approved version the catalog's current version immediately; the previous one is superseded.",
        tags: tags.versions,
        auth: providerAccount,
        params: VersionParams,
        response: VersionOut,
        errors: ["FORBIDDEN", "CONFLICT"],
        handler: async ({ principal, params }) => toVersion(await service.publishVersion(principal.account, params.id, params.vid)),
      }),
      route({
        method: "post",
        operationId: "rollBackPackageVersion",
        lock: (p) => `package ${p.id}`,
        path: `${BASE}/:id/versions/:vid/rollback`,
        summary: "Roll back to an earlier published version",
        description: "Makes a superseded version current again (the current one is superseded). Optional `reason`.",
        tags: tags.versions,
        auth: providerAccount,
        params: VersionParams,
        body: RollbackBody,
        response: VersionOut,
        errors: ["FORBIDDEN", "CONFLICT"],
        handler: async ({ principal, params, body }) => toVersion(await service.rollback(principal.account, params.id, params.vid, body.reason)),
      }),
      route({
        method: "post",
        operationId: "deprecatePackageVersion",
        lock: (p) => `package ${p.id}`,
        path: `${BASE}/:id/versions/:vid/deprecate`,
        summary: "Deprecate a version",
        description: "Approved or superseded versions (deprecate the package to retire its current version). Optionally names a successor version.",
        tags: tags.versions,
        auth: providerAccount,
        params: VersionParams,
        body: DeprecateVersionBody,
        response: VersionOut,
        errors: ["FORBIDDEN", "CONFLICT"],
        handler: async ({ principal, params, body }) => toVersion(await service.deprecateVersion(principal.account, params.id, params.vid, body)),
      }),

      // ---------- reviewers (Firebase users with the custom claim reviewer: true) ----------
      listRoute({
        method: "get",
        operationId: "listReviews",
        path: "/v1/providers/packages/reviews",
        summary: "List the review queue",
        description: "Oldest first. `?status` (default `queued`; also claimed, approved, rejected), `?limit`, `?offset`. Reviewers only.",
        tags: tags.reviews,
        auth: reviewerUser,
        query: ReviewQueueQuery,
        response: ReviewOut,
        errors: ["FORBIDDEN"],
        handler: async ({ query }) => {
          const page = await reviews.listQueue(query.status, query.limit, query.offset);
          return { ...page, items: page.items.map(toReviewOut) };
        },
      }),
      route({
        method: "get",
        operationId: "getReview",
        path: "/v1/providers/packages/reviews/:reviewId",
        summary: "Retrieve a review with the version under review",
        description: "The listing and capabilities submitted, and the passing validation run. Reviewers only.",
        tags: tags.reviews,
        auth: reviewerUser,
        params: ReviewParams,
        response: ReviewDetailOut,
        errors: ["FORBIDDEN"],
        handler: async ({ params }) => {
          const { review, version, run } = await reviews.getReview(params.reviewId);
          const detail = toVersionOut(version, [], null);
          return { ...toReviewOut(review), listing: detail.listing!, capabilities: detail.capabilities, validation: run ? toRunOut(run) : null };
        },
      }),
      route({
        method: "post",
        operationId: "claimReview",
        path: "/v1/providers/packages/reviews/:reviewId/claim",
        summary: "Claim a review",
        description:
          "Takes a queued review for 4 hours (claiming it again extends the claim; a lapsed claim can be taken by anyone). Reviewers cannot claim their own account's packages.",
        tags: tags.reviews,
        auth: reviewerUser,
        params: ReviewParams,
        response: ReviewOut,
        errors: ["FORBIDDEN", "CONFLICT"],
        handler: async ({ principal, params }) => toReviewOut(await reviews.claim(principal, params.reviewId)),
      }),
      route({
        method: "post",
        operationId: "approveReview",
        path: "/v1/providers/packages/reviews/:reviewId/approve",
        summary: "Approve a claimed review",
        description: "The version becomes `approved`; its provider publishes it. Optional `notes` reach the provider.",
        tags: tags.reviews,
        auth: reviewerUser,
        params: ReviewParams,
        body: ApproveBody,
        response: ReviewOut,
        errors: ["FORBIDDEN", "CONFLICT"],
        handler: async ({ principal, params, body }) => toReviewOut(await reviews.approve(principal, params.reviewId, body)),
      }),
      route({
        method: "post",
        operationId: "rejectReview",
        path: "/v1/providers/packages/reviews/:reviewId/reject",
        summary: "Reject a claimed review with reasons",
        description: "The version becomes `rejected`; the provider sees each reason (with the JSON path it concerns, if any).",
        tags: tags.reviews,
        auth: reviewerUser,
        params: ReviewParams,
        body: RejectBody,
        response: ReviewOut,
        errors: ["FORBIDDEN", "CONFLICT"],
        handler: async ({ principal, params, body }) => toReviewOut(await reviews.reject(principal, params.reviewId, body)),
      }),
    ],
  };
}

import { PackagesService } from "../../src/surfaces/packages/service";
import { adminAuth, adminDb } from "../helpers/admin";
import { weatherForecast } from "../helpers/descriptors";
import { api, expectError, expectStatus, request } from "../helpers/http";
import { accountOf, HoldingPublisher } from "../helpers/inProcess";
import { createPackage, MANAGE, packageProvider, queuedReview, REVIEWS, validate, versionInState, versionPath } from "../helpers/packages";
import { type SampleProvider, startSampleProvider } from "../helpers/sampleProvider";
import { reviewer, signInDirect } from "../helpers/stories";

/**
 * Every action on a version in every state where the state machine does not allow it answers
 * 409 CONFLICT and changes nothing: not the version, not its history, not the package or its listing.
 */
type Action = "validate" | "submit" | "publish" | "rollback" | "deprecate" | "edit";
const ACTIONS: Record<Action, (path: string) => [string, string, unknown]> = {
  validate: (p) => ["POST", `${p}/validate`, undefined],
  submit: (p) => ["POST", `${p}/submit`, undefined],
  publish: (p) => ["POST", `${p}/publish`, undefined],
  rollback: (p) => ["POST", `${p}/rollback`, {}],
  deprecate: (p) => ["POST", `${p}/deprecate`, { reason: "trying" }],
  edit: (p) => ["PATCH", p, { changelog: "trying" }],
};
const ALL = Object.keys(ACTIONS) as Action[];
const ALLOWED: Record<string, Action[]> = {
  draft: ["validate", "edit"],
  validating: [],
  validated: ["validate", "submit", "edit"],
  submitted: [],
  in_review: [],
  approved: ["publish", "deprecate"],
  rejected: [],
  published: [],
  superseded: ["rollback", "deprecate"],
  deprecated: [],
};

let sample: SampleProvider;
let token: string;
let providerEmail: string;
let providerUid: string;
const versionsByState = new Map<string, { packageId: string; versionId: string }>();
let reviewerToken: string;

async function submitAndWait(packageId: string, versionId: string, state: string) {
  await validate(token, packageId, versionId);
  expectStatus(202, await api.post(`${versionPath(packageId, versionId)}/submit`, undefined, { token }));
  return versionInState(token, packageId, versionId, state);
}

async function newVersion(packageId: string) {
  const res = await api.post(`${MANAGE}/${packageId}/versions`, { capabilities: [weatherForecast()], changelog: "Next" }, { token });
  expectStatus(201, res);
  return res.body.data.id as string;
}

beforeAll(async () => {
  sample = await startSampleProvider();
  const provider = await packageProvider(sample, "States Ltd");
  token = provider.token;
  providerEmail = provider.email;
  providerUid = provider.accountId;
  const app = provider.app;
  const account = await accountOf(provider.accountId);
  const held = new HoldingPublisher();
  reviewerToken = (await reviewer()).token;

  // A data_only package: superseded 1.0.0, published 1.1.0, then draft, validated, validating and submitted versions.
  const a = await createPackage(token, app.id);
  await submitAndWait(a.id, a.versionId, "published");
  versionsByState.set("superseded", { packageId: a.id, versionId: a.versionId });
  const a2 = await newVersion(a.id);
  await submitAndWait(a.id, a2, "published");
  versionsByState.set("published", { packageId: a.id, versionId: a2 });
  versionsByState.set("draft", { packageId: a.id, versionId: await newVersion(a.id) });
  const a4 = await newVersion(a.id);
  await validate(token, a.id, a4);
  versionsByState.set("validated", { packageId: a.id, versionId: a4 });
  const a5 = await newVersion(a.id);
  await new PackagesService({ publisher: held }).requestValidation(account, a.id, a5); // message held: stays validating
  versionsByState.set("validating", { packageId: a.id, versionId: a5 });
  const a6 = await newVersion(a.id);
  await validate(token, a.id, a6);
  await new PackagesService({ publisher: held }).submitVersion(account, a.id, a6); // message held: stays submitted
  versionsByState.set("submitted", { packageId: a.id, versionId: a6 });

  // A read_personal package: in review, approved, rejected and deprecated versions.
  const personal = { riskTier: "read_personal", capabilities: [weatherForecast({ dataCategories: ["location"], scopes: ["read:location"] })] };
  const b = await createPackage(token, app.id, personal);
  await submitAndWait(b.id, b.versionId, "in_review");
  versionsByState.set("in_review", { packageId: b.id, versionId: b.versionId });
  const decide = async (decision: "approve" | "reject") => {
    const res = await api.post(`${MANAGE}/${b.id}/versions`, { ...personal, changelog: "Next" }, { token });
    const versionId = res.body.data.id as string;
    await submitAndWait(b.id, versionId, "in_review");
    const review = await queuedReview(reviewerToken, versionId);
    expectStatus(200, await api.post(`${REVIEWS}/${review.id}/claim`, undefined, { token: reviewerToken }));
    const body = decision === "approve" ? {} : { reasons: [{ message: "No" }] };
    expectStatus(200, await api.post(`${REVIEWS}/${review.id}/${decision}`, body, { token: reviewerToken }));
    return { versionId, reviewId: review.id as string };
  };
  versionsByState.set("approved", { packageId: b.id, ...(await decide("approve")) });
  versionsByState.set("rejected", { packageId: b.id, ...(await decide("reject")) });
  const doomed = await decide("approve");
  expectStatus(200, await api.post(`${versionPath(b.id, doomed.versionId)}/deprecate`, { reason: "Never shipped" }, { token }));
  versionsByState.set("deprecated", { packageId: b.id, versionId: doomed.versionId });
}, 180_000);

afterAll(() => sample.close());

const snapshot = async (packageId: string, versionId: string) => {
  const version = (await api.get(versionPath(packageId, versionId), { token })).body.data;
  // The queue position and expected review time move with other packages' reviews, not with this version.
  if (version.review) version.review = { ...version.review, queuePosition: undefined, expectedReviewBy: undefined };
  const pkg = (await api.get(`${MANAGE}/${packageId}`, { token })).body.data;
  const listing = (await adminDb().collection("catalogListings").doc(packageId).get()).data() ?? null;
  return { version, pkg: { ...pkg, versions: undefined }, listing };
};

describe("version state machine over HTTP", () => {
  it("has a version in every state", async () => {
    for (const [state, { packageId, versionId }] of versionsByState) {
      expect([state, (await api.get(versionPath(packageId, versionId), { token })).body.data.state]).toEqual([state, state]);
    }
    expect(versionsByState.size).toBe(Object.keys(ALLOWED).length);
  });

  it.each(Object.keys(ALLOWED))("refuses every illegal action on a %s version with 409 and changes nothing", async (state) => {
    const { packageId, versionId } = versionsByState.get(state)!;
    const illegal = ALL.filter((a) => !ALLOWED[state]!.includes(a));
    const before = await snapshot(packageId, versionId);
    for (const action of illegal) {
      const [method, path, body] = ACTIONS[action](versionPath(packageId, versionId));
      const res = await request(method, path, { token, body });
      if (res.status !== 409) throw new Error(`${action} on a ${state} version answered ${res.status}: ${res.text}`);
      expectError(res, 409, "CONFLICT");
    }
    expect(await snapshot(packageId, versionId)).toEqual(before);
  });

  it("explains why submitting an unvalidated or failed version is refused", async () => {
    const { packageId, versionId } = versionsByState.get("draft")!;
    expect(expectError(await api.post(`${versionPath(packageId, versionId)}/submit`, undefined, { token }), 409, "CONFLICT").message).toBe(
      "Cannot submit a version in state 'draft' (only from validated)",
    );
    sample.setFailure("error_500");
    try {
      const failed = await api.post(`${versionPath(packageId, versionId)}/validate?wait=true`, undefined, { token });
      expect(failed.body.data.status).toBe("failed");
    } finally {
      sample.setFailure("none");
    }
    expectError(await api.post(`${versionPath(packageId, versionId)}/submit`, undefined, { token }), 409, "CONFLICT");
    expect((await api.get(versionPath(packageId, versionId), { token })).body.data.state).toBe("draft");
  });

  it("refuses to submit a version whose listing changed after validation", async () => {
    const { packageId, versionId } = versionsByState.get("validated")!;
    expectStatus(
      200,
      await api.patch(`${MANAGE}/${packageId}`, { description: "A different description, long enough to satisfy the listing rule." }, { token }),
    );
    expect(expectError(await api.post(`${versionPath(packageId, versionId)}/submit`, undefined, { token }), 409, "CONFLICT").message).toMatch(
      /listing changed after version .* was validated; validate it again/,
    );
    expect((await api.get(versionPath(packageId, versionId), { token })).body.data.state).toBe("validated");
  });

  it("keeps reviewer decisions to claimed reviews, once, and never on the reviewer's own packages", async () => {
    const inReview = versionsByState.get("in_review")!;
    const queued = await queuedReview(reviewerToken, inReview.versionId);
    expect(expectError(await api.post(`${REVIEWS}/${queued.id}/approve`, {}, { token: reviewerToken }), 409, "CONFLICT").message).toMatch(
      /^Claim review/,
    );
    const approved = versionsByState.get("approved") as { reviewId?: string };
    expectError(await api.post(`${REVIEWS}/${approved.reviewId}/claim`, undefined, { token: reviewerToken }), 409, "CONFLICT");
    expectError(
      await api.post(`${REVIEWS}/${approved.reviewId}/reject`, { reasons: [{ message: "late" }] }, { token: reviewerToken }),
      409,
      "CONFLICT",
    );

    // The provider's own user, made a reviewer, still cannot review their own package.
    await adminAuth().setCustomUserClaims(providerUid, { reviewer: true });
    try {
      const selfReviewer = await signInDirect(providerEmail);
      expect(expectError(await api.post(`${REVIEWS}/${queued.id}/claim`, undefined, { token: selfReviewer }), 403, "FORBIDDEN").message).toBe(
        "Reviewers cannot review their own account's packages",
      );
    } finally {
      await adminAuth().setCustomUserClaims(providerUid, null);
    }
    expect((await api.get(versionPath(inReview.packageId, inReview.versionId), { token })).body.data.state).toBe("in_review");
  });
});

import { fixedClock } from "../../src/kernel/clock";
import { CLAIM_TTL_MS } from "../../src/domain/packages/review";
import { ReviewService } from "../../src/surfaces/packages/reviews";
import { weatherForecast } from "../helpers/descriptors";
import { api, expectError, expectStatus } from "../helpers/http";
import { createPackage, packageProvider, queuedReview, REVIEWS, useSampleProvider, validate, versionInState, versionPath } from "../helpers/packages";
import { reviewer } from "../helpers/stories";

const sample = useSampleProvider();

/** Submits `count` read_personal packages one after another; returns their versions in submission order. */
async function queueVersions(count: number) {
  const provider = await packageProvider(sample(), "Queue Ltd");
  const app = provider.app;
  const versions: { packageId: string; versionId: string }[] = [];
  for (let i = 0; i < count; i++) {
    const { id, versionId } = await createPackage(provider.token, app.id, {
      riskTier: "read_personal",
      capabilities: [weatherForecast({ dataCategories: ["location"], scopes: ["read:location"] })],
    });
    await validate(provider.token, id, versionId);
    expectStatus(202, await api.post(`${versionPath(id, versionId)}/submit`, undefined, { token: provider.token }));
    await versionInState(provider.token, id, versionId, "in_review");
    versions.push({ packageId: id, versionId });
  }
  return { ...provider, versions };
}

describe("review queue", () => {
  it("lists queued reviews oldest first, and shows providers their place and expected review time", async () => {
    const { token, versions } = await queueVersions(3);
    const { token: reviewerToken } = await reviewer();
    const reviews = [];
    for (const v of versions) reviews.push(await queuedReview(reviewerToken, v.versionId));
    const queuedAt = reviews.map((r) => new Date(r.queuedAt).getTime());
    expect([...queuedAt].sort((a, b) => a - b)).toEqual(queuedAt);

    // Oldest first across the whole queue (other tests queue versions too).
    const all = [];
    for (let offset = 0; ; offset += 100) {
      const page = await api.get(`${REVIEWS}?status=queued&limit=100&offset=${offset}`, { token: reviewerToken });
      expectStatus(200, page);
      // Reviewers have a rate-limit budget of their own.
      expect(page.headers.get("ratelimit-policy")).toBe('"reviewer";q=1000;w=60');
      all.push(...page.body.data);
      if (!page.body.meta.pagination.hasMore) break;
    }
    const times = all.map((r: { queuedAt: string }) => new Date(r.queuedAt).getTime());
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    const mine = all.filter((r: { versionId: string }) => versions.some((v) => v.versionId === r.versionId)).map((r: { id: string }) => r.id);
    expect(mine).toEqual(reviews.map((r) => r.id));

    // Each later submission is further back in the queue; the expected time is at least a business day away.
    const positions = [];
    for (const v of versions) {
      const version = (await api.get(versionPath(v.packageId, v.versionId), { token })).body.data;
      expect(version.review.status).toBe("queued");
      expect(new Date(version.review.expectedReviewBy).getTime()).toBeGreaterThan(Date.now() + 12 * 3600_000);
      positions.push(version.review.queuePosition);
    }
    expect(positions[1]).toBeGreaterThan(positions[0]);
    expect(positions[2]).toBeGreaterThan(positions[1]);

    // A claimed review still waits: it stays ahead of the next one. Once decided it no longer counts.
    // (Other tests decide older reviews meanwhile, so positions can only fall, never rise.)
    expectStatus(200, await api.post(`${REVIEWS}/${reviews[0].id}/claim`, undefined, { token: reviewerToken }));
    const claimedList = await api.get(`${REVIEWS}?status=claimed&limit=100`, { token: reviewerToken });
    expect(claimedList.body.data.map((r: { id: string }) => r.id)).toContain(reviews[0].id);
    const positionOf = async (i: number) =>
      (await api.get(versionPath(versions[i]!.packageId, versions[i]!.versionId), { token })).body.data.review.queuePosition as number;
    const [claimedPosition, nextPosition] = [await positionOf(0), await positionOf(1)];
    expect(nextPosition).toBeGreaterThan(claimedPosition);
    expectStatus(200, await api.post(`${REVIEWS}/${reviews[0].id}/approve`, {}, { token: reviewerToken }));
    expect(await positionOf(1)).toBeLessThanOrEqual(nextPosition - 1);
  });

  it("lets one reviewer hold a claim; it lapses after four hours", async () => {
    const { versions } = await queueVersions(1);
    const alice = await reviewer();
    const bob = await reviewer();
    const review = await queuedReview(alice.token, versions[0]!.versionId);
    expectStatus(200, await api.post(`${REVIEWS}/${review.id}/claim`, undefined, { token: alice.token }));
    expect(expectError(await api.post(`${REVIEWS}/${review.id}/claim`, undefined, { token: bob.token }), 409, "CONFLICT").message).toMatch(
      /claimed by another reviewer until/,
    );
    expectError(await api.post(`${REVIEWS}/${review.id}/approve`, {}, { token: bob.token }), 409, "CONFLICT");
    // Claiming your own claim again extends it.
    expectStatus(200, await api.post(`${REVIEWS}/${review.id}/claim`, undefined, { token: alice.token }));

    // Four hours later Alice's claim has lapsed and Bob takes the review (the controllable clock stands in for waiting).
    const later = new ReviewService(fixedClock(new Date(Date.now() + CLAIM_TTL_MS + 60_000)));
    const taken = await later.claim(
      { kind: "reviewer", user: { kind: "user", uid: bob.uid, email: null, emailVerified: true, claims: { reviewer: true } } },
      review.id,
    );
    expect(taken).toEqual(expect.objectContaining({ status: "claimed", claimedBy: bob.uid }));
    expectError(await api.post(`${REVIEWS}/${review.id}/approve`, {}, { token: alice.token }), 409, "CONFLICT");
    const rejected = await api.post(
      `${REVIEWS}/${review.id}/reject`,
      { reasons: [{ message: "Explain the location use" }], notes: "Otherwise fine" },
      { token: bob.token },
    );
    expectStatus(200, rejected);
    expect(rejected.body.data).toEqual(
      expect.objectContaining({
        status: "rejected",
        decidedBy: bob.uid,
        reasons: [{ message: "Explain the location use", path: null, ruleId: null }],
        notes: "Otherwise fine",
      }),
    );
    const decided = await api.get(`${REVIEWS}/${review.id}`, { token: alice.token });
    expect(decided.body.data.status).toBe("rejected");
  });

  describe("bad input", () => {
    let reviewerToken: string;
    beforeAll(async () => {
      reviewerToken = (await reviewer()).token;
    });

    it("validates the rejection body", async () => {
      const path = `${REVIEWS}/rev_00000000000000000000/reject`;
      expectError(
        await api.post(path, undefined, { token: reviewerToken, raw: "{", headers: { "content-type": "application/json" } }),
        400,
        "INVALID_JSON",
      );
      expect(expectError(await api.post(path, {}, { token: reviewerToken }), 400, "VALIDATION_ERROR").message).toBe("reasons: Required");
      expect(expectError(await api.post(path, { reasons: [] }, { token: reviewerToken }), 400, "VALIDATION_ERROR").message).toBe(
        "reasons: Array must contain at least 1 item",
      );
      expect(expectError(await api.post(path, { reasons: ["no"] }, { token: reviewerToken }), 400, "VALIDATION_ERROR").message).toBe(
        "reasons.0: Expected object, received string",
      );
      expect(
        expectError(await api.post(path, { reasons: [{ message: "x", severity: 1 }] }, { token: reviewerToken }), 400, "VALIDATION_ERROR").message,
      ).toBe("reasons.0.severity: Unknown field");
      expect(
        expectError(await api.post(`${REVIEWS}/rev_00000000000000000000/approve`, { notes: 5 }, { token: reviewerToken }), 400, "VALIDATION_ERROR")
          .message,
      ).toBe("notes: Expected string, received number");
    });

    it("answers unknown and malformed review ids with 404", async () => {
      expectError(await api.get(`${REVIEWS}/rev_00000000000000000000`, { token: reviewerToken }), 404, "NOT_FOUND");
      expectError(await api.post(`${REVIEWS}/rev_00000000000000000000/claim`, undefined, { token: reviewerToken }), 404, "NOT_FOUND");
      expectError(
        await api.post(`${REVIEWS}/rev_00000000000000000000/reject`, { reasons: [{ message: "x" }] }, { token: reviewerToken }),
        404,
        "NOT_FOUND",
      );
      expectError(await api.get(`${REVIEWS}/nope`, { token: reviewerToken }), 404, "NOT_FOUND");
    });

    it("validates the queue's query", async () => {
      expect(expectError(await api.get(`${REVIEWS}?status=stuck`, { token: reviewerToken }), 400, "VALIDATION_ERROR").message).toMatch(
        /^query\.status: Expected one of/,
      );
      expectError(await api.get(`${REVIEWS}?limit=1000`, { token: reviewerToken }), 400, "VALIDATION_ERROR");
    });
  });
});

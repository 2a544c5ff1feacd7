import { adminDb } from "../helpers/admin";
import { completeListing, weatherForecast } from "../helpers/descriptors";
import { api, expectError, expectStatus } from "../helpers/http";
import {
  createPackage,
  eventually,
  invocationsOf,
  MANAGE,
  packageProvider,
  queuedReview,
  registerSampleRuntime,
  REVIEWS,
  useSampleProvider,
  validate,
  versionInState,
  versionPath,
} from "../helpers/packages";
import { startSampleProvider } from "../helpers/sampleProvider";
import { mailsTo, reviewer } from "../helpers/stories";

const sample = useSampleProvider();

/** A verified provider with an app whose runtime is the sample provider. */
const providerWithRuntime = (company = "Sunny Data Ltd") => packageProvider(sample(), company);

/** Lifecycle order, to order events recorded in one transaction (they share a timestamp). */
const EVENT_ORDER = [
  "package.validation.completed",
  "package.version.submitted",
  "package.review.queued",
  "package.review.approved",
  "package.review.rejected",
  "package.version.published",
  "package.version.deprecated",
  "package.deprecated",
];

const eventsOf = async (accountId: string, packageId: string) =>
  (await adminDb().collection("providerEvents").where("accountId", "==", accountId).get()).docs
    .map((d) => d.data())
    .filter((e) => e.data.packageId === packageId)
    .sort((a, b) => a.occurredAt.toMillis() - b.occurredAt.toMillis() || EVENT_ORDER.indexOf(a.type) - EVENT_ORDER.indexOf(b.type));

const personalCapability = () =>
  weatherForecast({ id: "weather_forecast", dataCategories: ["location"], scopes: ["read:location"], description: "Forecast for where you are." });

describe("package lifecycle", () => {
  it("takes a data_only package from draft through a failed and a passing validation into the catalog", async () => {
    const { token, accountId, app, email, runtime } = await providerWithRuntime();
    // Results reach the provider's webhook endpoint too (and the runtime's signing secret signs the probes).
    const hooks = await api.put(
      `/v1/providers/runtime/apps/${runtime!.runtimeAppId}/webhook-profile`,
      { url: `${sample().url}/webhooks`, events: ["package.validation.completed", "package.version.published"] },
      { token: runtime!.access },
    );
    expectStatus(200, hooks);
    sample().setSigningSecrets([hooks.body.data.signingSecret]);
    const broken = weatherForecast({ inputSchema: { type: "object", properties: { location: { type: "strin" } } } });
    const { id, versionId, pkg } = await createPackage(token, app.id, { capabilities: [broken], category: null });
    expect(pkg).toEqual(
      expect.objectContaining({
        id: expect.stringMatching(/^pkg_[0-9A-Za-z]{20}$/),
        appId: app.id,
        status: "draft",
        riskTier: "data_only",
        currentVersion: null,
        latestVersion: "1.0.0",
        installCount: 0,
        orphaned: false,
      }),
    );
    expect(pkg.versions).toEqual([
      expect.objectContaining({
        id: versionId,
        version: "1.0.0",
        state: "draft",
        history: [expect.objectContaining({ from: null, to: "draft", actor: { type: "provider", id: accountId } })],
      }),
    ]);

    // Validation answers at once with a queued run; the Pub/Sub-triggered runner finishes it.
    const queued = await api.post(`${versionPath(id, versionId)}/validate`, undefined, { token });
    expectStatus(202, queued);
    expect(queued.body.data).toEqual(expect.objectContaining({ status: "queued", versionId, version: "1.0.0", score: null, findings: [] }));
    const location = queued.headers.get("location")!;
    expect(location).toBe(`${versionPath(id, versionId)}/validations/${queued.body.data.id}`);
    const failed = await eventually(async () => {
      const run = (await api.get(location, { token })).body.data;
      return run.status === "passed" || run.status === "failed" ? run : undefined;
    });
    expect(failed.status).toBe("failed");
    expect(failed.passed).toBe(false);
    expect(failed.findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          ruleId: "schema.invalid_input_schema",
          severity: "error",
          path: "$.version.capabilities[0].inputSchema.properties.location.type",
        }),
        expect.objectContaining({ ruleId: "listing.category_missing", severity: "error", path: "$.package.category" }),
      ]),
    );
    expect(Object.keys(failed.score.dimensions)).toEqual(["schema", "listing", "security", "reliability", "performance", "privacy"]);
    expect((await api.get(versionPath(id, versionId), { token })).body.data.state).toBe("draft");

    // Fix both and validate again, waiting for the result.
    expectStatus(200, await api.patch(versionPath(id, versionId), { capabilities: [weatherForecast()] }, { token }));
    expectStatus(200, await api.patch(`${MANAGE}/${id}`, { category: "weather" }, { token }));
    const passed = await validate(token, id, versionId);
    // The test runtime listens on loopback http, accepted (and noted) on the emulators only.
    expect(passed).toEqual(
      expect.objectContaining({
        status: "passed",
        passed: true,
        findings: [expect.objectContaining({ ruleId: "security.endpoint_loopback", severity: "info" })],
      }),
    );
    expect(passed.score).toEqual({
      overall: 100,
      dimensions: { schema: 100, listing: 100, security: 100, reliability: 100, performance: 100, privacy: 100 },
    });
    expect(passed.probes).toEqual([expect.objectContaining({ capabilityId: "weather_forecast", probes: 3, succeeded: 3 })]);
    // The probes were real invocations, authenticated with the runtime app's auth profile.
    const probes = invocationsOf(sample()).filter(
      (i) => i.json.parameters?.location === "Berlin" && i.json.user?.id === "aiffinity-conformance-probe",
    );
    expect(probes.length).toBeGreaterThanOrEqual(3);
    expect(probes.every((i) => i.auth === "api_key" && i.signatureValid === true)).toBe(true);

    // Submit: data_only versions that pass the policy checks are listed automatically.
    const submitted = await api.post(`${versionPath(id, versionId)}/submit`, undefined, { token });
    expectStatus(202, submitted);
    expect(submitted.body.data.state).toBe("submitted");
    const published = await versionInState(token, id, versionId, "published");
    expect(published.history.map((h: { to: string }) => h.to)).toEqual([
      "draft",
      "validating",
      "draft",
      "validating",
      "validated",
      "submitted",
      "approved",
      "published",
    ]);
    expect(published.history[1].actor).toEqual({ type: "provider", id: accountId });
    expect(published.history[2]).toEqual(
      expect.objectContaining({ actor: { type: "system", id: "conformance-runner" }, reason: expect.stringContaining("failed") }),
    );
    expect(published.history[7]).toEqual(
      expect.objectContaining({ actor: { type: "system", id: "policy-checks" }, reason: "Listed automatically (data_only)" }),
    );
    expect(published.review).toEqual(expect.objectContaining({ status: "approved", decidedBy: "system", reasons: [] }));

    const detail = (await api.get(`${MANAGE}/${id}`, { token })).body.data;
    expect(detail).toEqual(expect.objectContaining({ status: "published", currentVersion: { id: versionId, version: "1.0.0" } }));

    // The catalog's listing document.
    const listing = (await adminDb().collection("catalogListings").doc(id).get()).data()!;
    expect(listing).toEqual(
      expect.objectContaining({
        packageId: id,
        slug: detail.slug,
        name: "Acme Weather",
        category: "weather",
        providerName: "Sunny Data Ltd",
        currentVersion: "1.0.0",
        currentVersionId: versionId,
        riskTier: "data_only",
        installCount: 0,
        ratingAverage: null,
        ratingCount: 0,
        orphaned: false,
        installable: true,
        deprecated: false,
        images: completeListing().images,
        dataCategories: ["public"],
        capabilities: [expect.objectContaining({ id: "weather_forecast", refreshIntervalSeconds: 1800 })],
      }),
    );

    // Every step was announced: events for webhooks, mails for results.
    expect((await eventsOf(accountId, id)).map((e) => e.type)).toEqual([
      "package.validation.completed",
      "package.validation.completed",
      "package.version.submitted",
      "package.review.approved",
      "package.version.published",
    ]);
    // Each event is delivered on its own (Pub/Sub, retries): in no particular order, so wait for all three.
    const delivered = await eventually(
      () => {
        const mine = sample().webhooks.filter((w) => w.json?.data?.packageId === id);
        return mine.length >= 3 ? mine : undefined;
      },
      30_000,
      "the three subscribed webhooks",
    );
    expect(delivered.map((w) => w.json.type).sort()).toEqual([
      "package.validation.completed",
      "package.validation.completed",
      "package.version.published",
    ]);
    expect(delivered.every((w) => w.signatureValid)).toBe(true);
    const subjects = (await mailsTo(email)).map((m) => m.message.subject);
    expect(subjects).toEqual(
      expect.arrayContaining([
        "Acme Weather 1.0.0 failed validation",
        "Acme Weather 1.0.0 passed validation (100/100)",
        "Acme Weather 1.0.0 is live in the catalog",
      ]),
    );
  });

  it("queues a read_personal version for a reviewer, who approves it, and the provider publishes it", async () => {
    const { token, app, email, accountId } = await providerWithRuntime("Personal Forecasts Ltd");
    const { id, versionId } = await createPackage(token, app.id, { riskTier: "read_personal", capabilities: [personalCapability()] });
    expect((await validate(token, id, versionId)).passed).toBe(true);
    expectStatus(202, await api.post(`${versionPath(id, versionId)}/submit`, undefined, { token }));
    const queued = await versionInState(token, id, versionId, "in_review");
    expect(queued.review).toEqual(
      expect.objectContaining({ status: "queued", queuePosition: expect.any(Number), expectedReviewBy: expect.any(String), decidedAt: null }),
    );
    expect(new Date(queued.review.expectedReviewBy).getTime()).toBeGreaterThan(Date.now());
    expect((await mailsTo(email)).map((m) => m.message.subject)).toContain("Acme Weather 1.0.0 is in the review queue");

    // The reviewer finds it in the queue, claims it, looks at it and approves it.
    const { token: reviewerToken, uid } = await reviewer();
    const review = await queuedReview(reviewerToken, versionId);
    expect(review).toEqual(expect.objectContaining({ packageId: id, status: "queued", riskTier: "read_personal", claimedBy: null }));
    const full = await api.get(`${REVIEWS}/${review.id}`, { token: reviewerToken });
    expectStatus(200, full);
    expect(full.body.data).toEqual(
      expect.objectContaining({
        listing: expect.objectContaining({ name: "Acme Weather", category: "weather" }),
        capabilities: [expect.objectContaining({ id: "weather_forecast", dataCategories: ["location"] })],
        validation: expect.objectContaining({ status: "passed" }),
      }),
    );
    const claimed = await api.post(`${REVIEWS}/${review.id}/claim`, undefined, { token: reviewerToken });
    expectStatus(200, claimed);
    expect(claimed.body.data).toEqual(expect.objectContaining({ status: "claimed", claimedBy: uid, claimExpiresAt: expect.any(String) }));
    const approved = await api.post(`${REVIEWS}/${review.id}/approve`, { notes: "Clear data use." }, { token: reviewerToken });
    expectStatus(200, approved);
    expect(approved.body.data).toEqual(expect.objectContaining({ status: "approved", decidedBy: uid, notes: "Clear data use." }));

    // The provider sees the decision (not who made it), and publishes.
    const version = (await api.get(versionPath(id, versionId), { token })).body.data;
    expect(version).toEqual(
      expect.objectContaining({
        state: "approved",
        review: expect.objectContaining({ status: "approved", decidedBy: "reviewer", notes: "Clear data use." }),
      }),
    );
    expect(version.history.at(-1)).toEqual(expect.objectContaining({ from: "in_review", to: "approved", actor: { type: "reviewer", id: null } }));
    expect(JSON.stringify(version)).not.toContain(uid);
    expect((await adminDb().collection("catalogListings").doc(id).get()).exists).toBe(false);

    const published = await api.post(`${versionPath(id, versionId)}/publish`, undefined, { token });
    expectStatus(200, published);
    expect(published.body.data.state).toBe("published");
    const listing = (await adminDb().collection("catalogListings").doc(id).get()).data()!;
    expect(listing).toEqual(
      expect.objectContaining({ riskTier: "read_personal", currentVersion: "1.0.0", installable: true, dataCategories: ["location"] }),
    );
    expect((await eventsOf(accountId, id)).map((e) => e.type)).toEqual([
      "package.validation.completed",
      "package.version.submitted",
      "package.review.queued",
      "package.review.approved",
      "package.version.published",
    ]);
  });

  it("shows the provider a reviewer's rejection with its reasons", async () => {
    const { token, app, email } = await providerWithRuntime("Rejected Ltd");
    const { id, versionId } = await createPackage(token, app.id, { riskTier: "read_personal", capabilities: [personalCapability()] });
    await validate(token, id, versionId);
    expectStatus(202, await api.post(`${versionPath(id, versionId)}/submit`, undefined, { token }));
    await versionInState(token, id, versionId, "in_review");
    const { token: reviewerToken } = await reviewer();
    const reviewId = (await queuedReview(reviewerToken, versionId)).id;
    expectStatus(200, await api.post(`${REVIEWS}/${reviewId}/claim`, undefined, { token: reviewerToken }));
    const reasons = [
      { message: "Say why you need the user's location", path: "$.version.capabilities[0].description" },
      { message: "The icon is blurry" },
    ];
    expectStatus(200, await api.post(`${REVIEWS}/${reviewId}/reject`, { reasons }, { token: reviewerToken }));

    const version = (await api.get(versionPath(id, versionId), { token })).body.data;
    expect(version.state).toBe("rejected");
    expect(version.review.reasons).toEqual([
      { message: "Say why you need the user's location", path: "$.version.capabilities[0].description", ruleId: null },
      { message: "The icon is blurry", path: null, ruleId: null },
    ]);
    const mail = (await mailsTo(email)).find((m) => m.message.subject === "Acme Weather 1.0.0 was not approved")!;
    expect(mail.message.text).toContain("Say why you need the user's location ($.version.capabilities[0].description)");
    // Rejected is final: the version cannot be submitted, validated or published again.
    expectError(await api.post(`${versionPath(id, versionId)}/submit`, undefined, { token }), 409, "CONFLICT");
    expectError(await api.post(`${versionPath(id, versionId)}/validate`, undefined, { token }), 409, "CONFLICT");
    expectError(await api.post(`${versionPath(id, versionId)}/publish`, undefined, { token }), 409, "CONFLICT");
  });

  it("rejects a version failing the automated policy checks without a reviewer", async () => {
    const { token, app } = await providerWithRuntime("Policy Ltd");
    const { id, versionId } = await createPackage(token, app.id, { name: "Official Weather" });
    await validate(token, id, versionId);
    expectStatus(202, await api.post(`${versionPath(id, versionId)}/submit`, undefined, { token }));
    const rejected = await versionInState(token, id, versionId, "rejected");
    expect(rejected.review).toEqual(
      expect.objectContaining({
        status: "rejected",
        decidedBy: "system",
        reasons: [{ ruleId: "policy.reserved_term", path: "$.package.name", message: "'official' is reserved for Aiffinity" }],
      }),
    );
    expect((await adminDb().collection("catalogListings").doc(id).get()).exists).toBe(false);
  });

  it("publishes newer versions, rolls back, deprecates a version and then the package", async () => {
    const { token, app, accountId } = await providerWithRuntime("Versions Ltd");
    const { id, versionId: v1 } = await createPackage(token, app.id);
    await validate(token, id, v1);
    await api.post(`${versionPath(id, v1)}/submit`, undefined, { token });
    await versionInState(token, id, v1, "published");

    const created = await api.post(
      `${MANAGE}/${id}/versions`,
      { capabilities: [weatherForecast({ deadlineMs: 4000 })], changelog: "Longer deadline" },
      { token },
    );
    expectStatus(201, created);
    const v2 = created.body.data.id;
    expect(created.body.data).toEqual(
      expect.objectContaining({ version: "1.1.0", state: "draft", changelog: "Longer deadline", riskTier: "data_only" }),
    );
    await validate(token, id, v2);
    await api.post(`${versionPath(id, v2)}/submit`, undefined, { token });
    await versionInState(token, id, v2, "published");
    expect((await api.get(versionPath(id, v1), { token })).body.data.state).toBe("superseded");
    expect((await adminDb().collection("catalogListings").doc(id).get()).get("currentVersion")).toBe("1.1.0");

    // Roll back to 1.0.0.
    const rolled = await api.post(`${versionPath(id, v1)}/rollback`, { reason: "1.1.0 times out" }, { token });
    expectStatus(200, rolled);
    expect(rolled.body.data.state).toBe("published");
    expect(rolled.body.data.history.at(-1)).toEqual(
      expect.objectContaining({ from: "superseded", to: "published", reason: "Rolled back from 1.1.0: 1.1.0 times out" }),
    );
    expect((await api.get(versionPath(id, v2), { token })).body.data.state).toBe("superseded");
    const listing = (await adminDb().collection("catalogListings").doc(id).get()).data()!;
    expect(listing).toEqual(expect.objectContaining({ currentVersion: "1.0.0", currentVersionId: v1 }));
    // Publishing an older approved version is not how to go back; publishing a superseded one neither.
    expectError(await api.post(`${versionPath(id, v2)}/publish`, undefined, { token }), 409, "CONFLICT");

    // Deprecate 1.1.0 (not current) pointing at 1.0.0; the current version cannot be deprecated alone.
    expectError(await api.post(`${versionPath(id, v1)}/deprecate`, { reason: "old" }, { token }), 409, "CONFLICT");
    const deprecated = await api.post(`${versionPath(id, v2)}/deprecate`, { reason: "Times out", successorVersionId: v1 }, { token });
    expectStatus(200, deprecated);
    expect(deprecated.body.data).toEqual(
      expect.objectContaining({ state: "deprecated", deprecation: expect.objectContaining({ reason: "Times out", successorVersionId: v1 }) }),
    );
    expectError(await api.post(`${versionPath(id, v2)}/rollback`, {}, { token }), 409, "CONFLICT");

    // Deprecate the package, pointing at a successor package of the same account.
    const { id: successor } = await createPackage(token, app.id);
    const gone = await api.post(`${MANAGE}/${id}/deprecate`, { reason: "Replaced by the new package", successorPackageId: successor }, { token });
    expectStatus(200, gone);
    expect(gone.body.data).toEqual(
      expect.objectContaining({ status: "deprecated", deprecation: expect.objectContaining({ successorPackageId: successor }) }),
    );
    expect(gone.body.data.versions.find((v: { id: string }) => v.id === v1).state).toBe("deprecated");
    expect((await adminDb().collection("catalogListings").doc(id).get()).data()).toEqual(
      expect.objectContaining({ deprecated: true, installable: false, successorPackageId: successor, currentVersion: "1.0.0" }),
    );
    expectError(await api.post(`${MANAGE}/${id}/deprecate`, { reason: "again" }, { token }), 409, "CONFLICT");
    expectError(await api.post(`${MANAGE}/${id}/versions`, { capabilities: [weatherForecast()] }, { token }), 409, "CONFLICT");
    expect((await eventsOf(accountId, id)).map((e) => e.type)).toEqual(expect.arrayContaining(["package.version.deprecated", "package.deprecated"]));
    const filtered = await api.get(`${MANAGE}?status=deprecated`, { token });
    expect(filtered.body.data.map((p: { id: string }) => p.id)).toEqual([id]);
  });

  it("gives the same version, validated twice with nothing changed, the same score", async () => {
    const { token, app } = await providerWithRuntime();
    const { id, versionId } = await createPackage(token, app.id, { description: "Too short.", images: { icon: null } });
    const first = await validate(token, id, versionId);
    const second = await validate(token, id, versionId);
    expect(first.id).not.toBe(second.id);
    expect(first.score.overall).toBeLessThan(100);
    expect(second.score).toEqual(first.score);
    expect(second.findings).toEqual(first.findings);
    const runs = await api.get(`${versionPath(id, versionId)}/validations`, { token });
    expect(runs.body.data.map((r: { id: string }) => r.id)).toEqual([second.id, first.id]);
    expect(runs.body.meta.pagination).toEqual({ total: 2, limit: 20, offset: 0, hasMore: false });
  });

  it("fails reliability and performance when the app has no runtime, and when the runtime misbehaves", async () => {
    const provider = await packageProvider(null);
    const { id, versionId } = await createPackage(provider.token, provider.app.id);
    const bare = await validate(provider.token, id, versionId);
    expect(bare).toEqual(expect.objectContaining({ status: "failed", passed: false }));
    expect(bare.score.dimensions).toEqual(expect.objectContaining({ reliability: 0, performance: 0 }));
    expect(bare.findings).toContainEqual(expect.objectContaining({ ruleId: "reliability.runtime_not_registered", path: "$.runtime" }));
    expect(bare.findings).toContainEqual(expect.objectContaining({ ruleId: "security.auth_profile_missing", path: "$.runtime.authProfile" }));

    const broken = await startSampleProvider();
    try {
      await registerSampleRuntime(provider.app, broken);
      broken.setFailure("error_500");
      const failing = await validate(provider.token, id, versionId);
      expect(failing.findings).toContainEqual(
        expect.objectContaining({ ruleId: "reliability.probe_failed", message: "3 of 3 probes of 'weather_forecast': HTTP 500" }),
      );
      broken.setFailure("malformed");
      const garbled = await validate(provider.token, id, versionId);
      expect(garbled.findings).toContainEqual(expect.objectContaining({ ruleId: "reliability.response_not_json" }));
      broken.setFailure("none");

      // A runtime whose answers do not match the declared output schema.
      const strict = weatherForecast({ outputSchema: { type: "object", required: ["location", "days"], properties: { days: { type: "string" } } } });
      expectStatus(200, await api.patch(versionPath(id, versionId), { capabilities: [strict] }, { token: provider.token }));
      const invalid = await validate(provider.token, id, versionId);
      expect(invalid.findings).toContainEqual(
        expect.objectContaining({
          ruleId: "reliability.output_invalid",
          path: "$.version.capabilities[0].outputSchema",
          message: expect.stringContaining("/days must be string"),
        }),
      );
      expect(invalid.score.dimensions.reliability).toBe(0);
    } finally {
      await broken.close();
    }
  });

  it("scores a slow runtime lower on performance, by latency band", async () => {
    const slow = await startSampleProvider();
    try {
      const provider = await packageProvider(slow);
      // 1 s answers against a 3 s deadline: the 25–50% band.
      slow.setFailure("slow", 1000);
      const { id, versionId } = await createPackage(provider.token, provider.app.id);
      const run = await validate(provider.token, id, versionId);
      expect(run.score.dimensions).toEqual(expect.objectContaining({ reliability: 100, performance: 70 }));
      expect(run.findings).toContainEqual(
        expect.objectContaining({
          ruleId: "performance.slow",
          severity: "warning",
          message: "Median latency of 'weather_forecast' is within 25–50% of 3000 ms; aim for 25% or less",
        }),
      );
      expect(run.probes[0]).toEqual(expect.objectContaining({ succeeded: 3, band: "within 25–50% of 3000 ms", medianLatencyMs: expect.any(Number) }));
      expect(run.probes[0].medianLatencyMs).toBeGreaterThanOrEqual(1000);
    } finally {
      await slow.close();
    }
  });
});

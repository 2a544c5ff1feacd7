import functionsTest from "firebase-functions-test";
import { RELATIVE_ACCURACY } from "../../src/domain/quality/histogram";
import { evaluateQuality, recordInvocation } from "../../src/jobs/quality";
import { adminDb } from "../helpers/admin";
import { PROJECT_ID } from "../helpers/env";
import { exactPercentile, logNormal, seededRandom } from "../helpers/generated";
import { api, type ApiResponse, expectError, expectStatus } from "../helpers/http";
import { useSampleProvider } from "../helpers/packages";
import { type Call, CAPABILITIES, publishedPackage, recordGeneratedInvocations, spread } from "../helpers/quality";
import { eventually } from "../helpers/sampleProvider";
import { mailsTo } from "../helpers/stories";

const testEnv = functionsTest({ projectId: PROJECT_ID });
const sample = useSampleProvider();
afterAll(() => testEnv.cleanup());

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MINUTE = 60_000;
const floorHour = (ms: number) => Math.floor(ms / HOUR) * HOUR;
const at = (t: number) => new Date(t);

/** 17 calls inside the 5-minute slot starting at `slotStart` (three slots make a window of 51, over the 50 minimum). */
const slot = (slotStart: number, call: (i: number) => Omit<Call, "at">) =>
  spread(17, at(slotStart + 10_000), at(slotStart + 4 * MINUTE + 50_000), call);

const eventsOf = async (accountId: string, prefix: string) =>
  (await adminDb().collection("providerEvents").where("accountId", "==", accountId).get()).docs
    .map((d) => d.data())
    .filter((e) => (e.type as string).startsWith(prefix))
    .sort(
      (a, b) =>
        a.occurredAt.toMillis() - b.occurredAt.toMillis() ||
        (a.type as string).localeCompare(b.type) ||
        String(a.data.metric).localeCompare(String(b.data.metric)),
    );

const dataOf = (res: ApiResponse) => {
  expectStatus(200, res);
  return res.body.data;
};

/** Within the histogram's bound of the exact value, plus the response's rounding to 0.01 ms. */
const expectPercentile = (reported: number, exact: number) =>
  expect(Math.abs(reported - exact)).toBeLessThanOrEqual(RELATIVE_ACCURACY * exact + 0.005);

describe("baselines", () => {
  it("reports p50/p95/p99, error rate and availability of 30 days of generated invocations, within the documented bound", async () => {
    const { qualityEvaluator } = await import("../../src/index");
    // firebase-functions-test's wrap() does not model v2 schedules; run() is the handler itself.
    const evaluate = (scheduleTime: Date) => qualityEvaluator.run({ scheduleTime: scheduleTime.toISOString(), jobName: "qualityEvaluator" });

    const owner = await publishedPackage(sample(), "Baseline Weather Ltd");
    const random = seededRandom(20260301);
    // Three days of traffic ending well before the current hour (the baseline window's end).
    const end = new Date(floorHour(Date.now()) - 10 * 60_000);
    const calls = spread(360, new Date(end.getTime() - 3 * DAY), end, (i) => {
      if (i % 40 === 7) return { latencyMs: 3000, errorClass: "timeout" as const };
      if (i % 40 === 19) return { latencyMs: 40, errorClass: "http_4xx" as const };
      if (i % 90 === 3) return { latencyMs: 15, errorClass: "connection_refused" as const };
      return { latencyMs: random() < 0.85 ? logNormal(random, 140, 0.35) : logNormal(random, 900, 0.5) };
    });
    await recordGeneratedInvocations(owner.capability, calls);

    // Nothing is folded into rollups until the evaluation job runs.
    const before = await api.get(`${CAPABILITIES}/baselines`, { token: owner.access });
    expectStatus(200, before);
    expect(before.body.data).toEqual([expect.objectContaining({ capability: owner.ref, invocations: 0, latencyMs: null, errorRatePercent: null })]);

    await evaluate(new Date());
    const res = await api.get(`${CAPABILITIES}/baselines`, { token: owner.access });
    expectStatus(200, res);
    expect(res.body.meta.pagination).toEqual({ total: 1, limit: 20, offset: 0, hasMore: false });
    const [baseline] = res.body.data;

    // The same figures, computed independently from the generated calls.
    const ok = calls.filter((c) => !c.errorClass).map((c) => c.latencyMs);
    const errors = calls.filter((c) => c.errorClass).length;
    const unavailable = calls.filter((c) => c.errorClass === "timeout" || c.errorClass === "connection_refused").length;
    // The window: the 30 days before the start of the hour of the request.
    const windowEnd = Date.parse(baseline.window.to);
    expect(windowEnd % HOUR).toBe(0);
    expect(Date.now() - windowEnd).toBeLessThan(HOUR + 60_000);
    expect(baseline).toEqual(
      expect.objectContaining({
        capability: owner.ref,
        packageId: owner.packageId,
        capabilityId: "weather_forecast",
        deadlineMs: 3000,
        invocations: calls.length,
        errors,
        errorRatePercent: Math.round((100_000 * errors) / calls.length) / 1000,
        availabilityPercent: Math.round((100_000 * (calls.length - unavailable)) / calls.length) / 1000,
        window: { from: new Date(windowEnd - 30 * DAY).toISOString(), to: new Date(windowEnd).toISOString() },
      }),
    );
    expectPercentile(baseline.latencyMs.p50, exactPercentile(ok, 50));
    expectPercentile(baseline.latencyMs.p95, exactPercentile(ok, 95));
    expectPercentile(baseline.latencyMs.p99, exactPercentile(ok, 99));
    expect(baseline.latencyMs.mean).toBeCloseTo(ok.reduce((a, b) => a + b, 0) / ok.length, 1);

    // The daily series (for charts): every UTC day of the window, adding up to the same figures.
    expect(baseline.daily).toBeUndefined();
    const series = await api.get(`${CAPABILITIES}/baselines?series=daily`, { token: owner.access });
    expectStatus(200, series);
    const [withDays] = series.body.data;
    const { daily, ...summary } = withDays;
    expect(summary).toEqual(baseline);
    const firstDay = Math.floor((windowEnd - 30 * DAY) / DAY) * DAY;
    const dayCount = Math.ceil((windowEnd - firstDay) / DAY);
    expect(daily.map((d: { date: string }) => d.date)).toEqual(
      Array.from({ length: dayCount }, (_, i) => new Date(firstDay + i * DAY).toISOString().slice(0, 10)),
    );
    for (const day of daily) {
      const inDay = calls.filter((c) => c.at.toISOString().slice(0, 10) === day.date);
      expect({ date: day.date, invocations: day.invocations, errors: day.errors }).toEqual({
        date: day.date,
        invocations: inDay.length,
        errors: inDay.filter((c) => c.errorClass).length,
      });
      if (inDay.length === 0)
        expect(day).toEqual({ date: day.date, invocations: 0, errors: 0, latencyMs: null, errorRatePercent: null, availabilityPercent: null });
      else
        expectPercentile(
          day.latencyMs.p95,
          exactPercentile(
            inDay.filter((c) => !c.errorClass).map((c) => c.latencyMs),
            95,
          ),
        );
    }

    // The rollups hold it all: no shard is left, and the day rollups add up to the invocations.
    const shards = await adminDb().collection("qualityRollupShards").where("packageId", "==", owner.packageId).get();
    expect(shards.size).toBe(0);
    const days = await adminDb().collection("qualityRollups").where("packageId", "==", owner.packageId).where("resolution", "==", "1d").get();
    expect(days.docs.reduce((sum, d) => sum + (d.get("count") as number), 0)).toBe(calls.length);

    // A redelivered trigger counts nothing twice, and evaluating again changes nothing.
    const [firstId] = (await adminDb().collection("invocations").where("packageId", "==", owner.packageId).limit(1).get()).docs.map((d) => d.id);
    const record = (await adminDb().collection("invocations").doc(firstId!).get()).data();
    expect(await recordInvocation(firstId!, record, new Date())).toBe("duplicate");
    await evaluate(new Date());
    const again = await api.get(`${CAPABILITIES}/baselines`, { token: owner.access });
    expect(again.body.data).toEqual(res.body.data);
  }, 240_000);

  it("shows an app only its own packages' capabilities", async () => {
    const owner = await publishedPackage(sample(), "Own Capabilities Ltd");
    const other = await publishedPackage(sample(), "Other Capabilities Ltd");
    const mine = await api.get(`${CAPABILITIES}/baselines`, { token: owner.access });
    expectStatus(200, mine);
    expect(mine.body.data.map((b: { capability: string }) => b.capability)).toEqual([owner.ref]);
    expectStatus(200, await api.get(`${CAPABILITIES}/baselines?capability=${owner.ref}`, { token: owner.access }));
    expectError(await api.get(`${CAPABILITIES}/baselines?capability=${other.ref}`, { token: owner.access }), 404, "NOT_FOUND");
    expectError(await api.get(`${CAPABILITIES}/baselines?packageId=${other.packageId}`, { token: owner.access }), 404, "NOT_FOUND");
    expectError(await api.get(`${CAPABILITIES}/certification?packageId=${other.packageId}`, { token: owner.access }), 404, "NOT_FOUND");
  });
});

describe("quality alerts", () => {
  it("open on a degraded window, stay one alert while active, escalate, resolve on recovery, and notify the provider", async () => {
    const owner = await publishedPackage(sample(), "Alerting Weather Ltd");
    const hooks = await api.put(
      `/v1/providers/runtime/apps/${owner.runtimeAppId}/webhook-profile`,
      { url: `${sample().url}/webhooks`, events: ["alert.opened", "alert.resolved"] },
      { token: owner.access },
    );
    expectStatus(200, hooks);
    sample().setSigningSecrets([hooks.body.data.signingSecret]);

    // The story, 8 days ago: a healthy week, then errors and slow answers, then recovery.
    const t0 = floorHour(Date.now()) - 8 * DAY + 30 * MINUTE;
    const random = seededRandom(42);
    const healthy = () => ({ latencyMs: logNormal(random, 100, 0.3) });
    const failingEvery = (n: number) => (i: number) => (i % n === 0 ? { latencyMs: 30, errorClass: "http_4xx" as const } : healthy());
    await recordGeneratedInvocations(owner.capability, [
      ...spread(105, at(t0 - 7 * DAY), at(t0 - 2 * HOUR), healthy),
      ...slot(t0 - 15 * MINUTE, failingEvery(8)), // 3 of 17 fail: 6 of 51 over three slots, 11.8%: warning
      ...slot(t0 - 10 * MINUTE, (i) => (i < 2 ? { latencyMs: 30, errorClass: "http_4xx" } : healthy())),
      ...slot(t0 - 5 * MINUTE, (i) => (i < 1 ? { latencyMs: 30, errorClass: "http_4xx" } : healthy())),
      ...slot(t0, (i) => (i < 3 ? { latencyMs: 30, errorClass: "http_4xx" } : healthy())),
      // 12 errors and five answers at 1 s (the baseline p95 is about 165 ms): critical error rate and latency.
      ...slot(t0 + 5 * MINUTE, (i) => (i < 12 ? { latencyMs: 30, errorClass: "http_4xx" } : { latencyMs: 1000 + i })),
      ...slot(t0 + 10 * MINUTE, healthy),
      ...slot(t0 + 15 * MINUTE, healthy),
      ...slot(t0 + 20 * MINUTE, healthy),
    ]);
    const scope = { accountId: owner.accountId };
    const alertsWith = async (query = "") => dataOf(await api.get(`${CAPABILITIES}/alerts${query}`, { token: owner.access }));

    // 1. The window [t0 − 15 min, t0): error rate 6/51 = 11.8% → one warning alert.
    await evaluateQuality(at(t0 + 2 * MINUTE), scope);
    const [opened] = await alertsWith();
    expect(opened).toEqual(
      expect.objectContaining({
        id: expect.stringMatching(/^alr_[0-9A-Za-z]{20}$/),
        capability: owner.ref,
        packageId: owner.packageId,
        metric: "error_rate",
        severity: "warning",
        status: "active",
        unit: "percent",
        threshold: 5,
        value: 11.765,
        condition: "error rate over 15 minutes > 5%",
        window: { from: at(t0 - 15 * MINUTE).toISOString(), to: at(t0).toISOString() },
        openedAt: at(t0 + 2 * MINUTE).toISOString(),
        resolvedAt: null,
      }),
    );

    // Evaluating the same window again changes nothing.
    await evaluateQuality(at(t0 + 2 * MINUTE), scope);
    expect(await alertsWith()).toEqual([opened]);
    expect((await eventsOf(owner.accountId, "alert.")).map((e) => e.type)).toEqual(["alert.opened"]);

    // 2. Five minutes later, still 6 failures in 51: the same alert, deduplicated.
    await evaluateQuality(at(t0 + 7 * MINUTE), scope);
    const [kept] = await alertsWith();
    expect(kept).toEqual(
      expect.objectContaining({
        id: opened.id,
        status: "active",
        value: 11.765,
        window: { from: at(t0 - 10 * MINUTE).toISOString(), to: at(t0 + 5 * MINUTE).toISOString() },
      }),
    );

    // 3. 16 failures in 51 (31%) and a p95 of about 1 s: the warning escalates to critical, and latency opens critical.
    await evaluateQuality(at(t0 + 12 * MINUTE), scope);
    const active = await alertsWith("?status=active");
    expect(active.map((a: { metric: string; severity: string }) => `${a.metric}:${a.severity}`).sort()).toEqual([
      "error_rate:critical",
      "latency_p95:critical",
    ]);
    const critical = active.find((a: { metric: string }) => a.metric === "error_rate");
    const slow = active.find((a: { metric: string }) => a.metric === "latency_p95");
    expect(critical).toEqual(expect.objectContaining({ escalatedFrom: opened.id, threshold: 20, value: 31.373 }));
    expect(slow).toEqual(
      expect.objectContaining({
        unit: "ms",
        currentSeverity: "critical",
        condition: expect.stringMatching(/^p95 latency over 15 minutes > 4 × the 30-day baseline p95 \(\d+(\.\d)? ms\)$/),
      }),
    );
    expect(slow.value).toBeGreaterThan(1000);
    expect(slow.threshold).toBeCloseTo(4 * slow.baseline, 1);
    expect(await alertsWith("?status=resolved")).toEqual([
      expect.objectContaining({ id: opened.id, resolution: "escalated", escalatedTo: critical.id }),
    ]);
    expect((await alertsWith("?severity=warning")).map((a: { id: string }) => a.id)).toEqual([opened.id]);
    expect(await alertsWith("?severity=info")).toEqual([]);
    const firstPage = await api.get(`${CAPABILITIES}/alerts?status=active&severity=critical&limit=1`, { token: owner.access });
    expect(firstPage.body.meta.pagination).toEqual({ total: 2, limit: 1, offset: 0, hasMore: true });

    // 4. A healthy window [t0 + 10 min, t0 + 25 min): both resolve on their own.
    await evaluateQuality(at(t0 + 27 * MINUTE), scope);
    expect(await alertsWith("?status=active")).toEqual([]);
    const resolved = await alertsWith("?status=resolved");
    expect(resolved.map((a: { id: string; resolution: string }) => `${a.id}:${a.resolution}`).sort()).toEqual(
      [`${critical.id}:recovered`, `${slow.id}:recovered`, `${opened.id}:escalated`].sort(),
    );
    expect(resolved.find((a: { id: string }) => a.id === critical.id)).toEqual(
      expect.objectContaining({ resolvedAt: at(t0 + 27 * MINUTE).toISOString(), value: 0, peakValue: 31.373 }),
    );

    // Every change went to the outbox, and through it to the webhook endpoint, signed.
    const events = await eventsOf(owner.accountId, "alert.");
    expect(events.map((e) => `${e.type}:${e.data.metric}:${e.data.severity}`)).toEqual([
      "alert.opened:error_rate:warning",
      "alert.opened:error_rate:critical",
      "alert.opened:latency_p95:critical",
      "alert.resolved:error_rate:warning",
      "alert.resolved:error_rate:critical",
      "alert.resolved:latency_p95:critical",
    ]);
    expect(events[0]!.data).toEqual(
      expect.objectContaining({
        alertId: opened.id,
        capability: owner.ref,
        packageId: owner.packageId,
        threshold: 5,
        value: expect.closeTo(11.765, 2),
        windowEnd: at(t0).toISOString(),
      }),
    );
    expect(events[3]!.data).toEqual(expect.objectContaining({ alertId: opened.id, resolution: "escalated", escalatedTo: critical.id }));
    const delivered = await eventually(
      () => {
        const mine = sample().webhooks.filter((w) => w.json?.data?.packageId === owner.packageId);
        return mine.length === 6 ? mine : undefined;
      },
      30_000,
      "six alert webhooks",
    );
    expect(delivered.every((w) => w.signatureValid)).toBe(true);

    // Mail for warning and critical alerts (escalation included) and their recovery.
    const subjects = (await mailsTo(owner.email)).map((m) => m.message.subject).filter((s) => s.includes(owner.ref));
    expect(subjects.sort()).toEqual(
      [
        `[warning] Acme Weather: error rate of ${owner.ref} degraded`,
        `[critical] Acme Weather: error rate of ${owner.ref} got worse`,
        `[critical] Acme Weather: p95 latency of ${owner.ref} degraded`,
        `[resolved] Acme Weather: error rate of ${owner.ref} recovered`,
        `[resolved] Acme Weather: p95 latency of ${owner.ref} recovered`,
      ].sort(),
    );

    // The package stayed certified: no critical alert lasted 30 minutes.
    const [certification] = dataOf(await api.get(`${CAPABILITIES}/certification`, { token: owner.access }));
    expect(certification).toEqual(expect.objectContaining({ packageId: owner.packageId, tier: "certified", changes: [] }));
  }, 240_000);
});

describe("certification", () => {
  it("moves a package to warning on a sustained critical alert, revokes it after the grace period, hides it, and restores it on recovery", async () => {
    const owner = await publishedPackage(sample(), "Flaky Forecasts Ltd");
    // Quality mail off: only the revocation, which takes the package out of the catalog, is mailed anyway.
    expectStatus(200, await api.patch("/v1/providers/account", { notification_preferences: { quality_alerts: false } }, { token: owner.token }));
    const listing = async () => (await adminDb().collection("catalogListings").doc(owner.packageId).get()).data()!;
    const certification = async () => dataOf(await api.get(`${CAPABILITIES}/certification`, { token: owner.access }))[0];

    // Before any invocation: certified on the validation run's scores.
    expect(await certification()).toEqual(
      expect.objectContaining({
        packageId: owner.packageId,
        slug: owner.capability.slug,
        tier: "certified",
        tierSince: null,
        evaluatedAt: null,
        score: expect.objectContaining({
          overall: 100,
          sources: expect.objectContaining({ reliability: "conformance", performance: "conformance", schema: "conformance" }),
        }),
        validationRunId: expect.stringMatching(/^run_/),
        reasons: [expect.objectContaining({ code: "meets_thresholds" }), expect.objectContaining({ code: "conformance_only" })],
      }),
    );

    const t1 = floorHour(Date.now()) - 6 * DAY + 30 * MINUTE;
    const grace = t1 + 72 * HOUR;
    const random = seededRandom(7);
    const down = (i: number) => (i % 4 === 0 ? { latencyMs: 3000, errorClass: "timeout" as const } : { latencyMs: logNormal(random, 120, 0.2) });
    const up = () => ({ latencyMs: logNormal(random, 120, 0.2) });
    await recordGeneratedInvocations(owner.capability, [
      ...[-15, -10, -5, 15, 20, 25].flatMap((m) => slot(t1 + m * MINUTE, down)), // 5 of 17 time out: availability 70.6%
      ...[20, 25, 30].flatMap((m) => slot(grace + m * MINUTE, down)),
      ...[35, 40, 45].flatMap((m) => slot(grace + m * MINUTE, up)),
    ]);
    const scope = { accountId: owner.accountId };

    // Critical alerts open, but do not count yet.
    await evaluateQuality(at(t1 + 2 * MINUTE), scope);
    const critical = dataOf(await api.get(`${CAPABILITIES}/alerts?status=active&severity=critical`, { token: owner.access }));
    expect(critical.map((a: { metric: string }) => a.metric).sort()).toEqual(["availability", "error_rate"]);
    expect(await certification()).toEqual(expect.objectContaining({ tier: "certified", causes: [], evaluatedAt: at(t1 + 2 * MINUTE).toISOString() }));

    // Still critical 30 minutes later: warning.
    await evaluateQuality(at(t1 + 32 * MINUTE), scope);
    const warned = await certification();
    expect(warned).toEqual(
      expect.objectContaining({
        tier: "warning",
        tierSince: at(t1 + 32 * MINUTE).toISOString(),
        graceEndsAt: at(t1 + 32 * MINUTE + 72 * HOUR).toISOString(),
        restoresAt: null,
        causes: expect.arrayContaining([
          expect.objectContaining({ code: "critical_alert_sustained", capability: owner.ref, since: at(t1).toISOString() }),
        ]),
        changes: [
          expect.objectContaining({
            from: "certified",
            to: "warning",
            at: at(t1 + 32 * MINUTE).toISOString(),
            reason: expect.stringMatching(/^Moved to warning: Critical/),
          }),
        ],
      }),
    );
    expect(warned.reasons.map((r: { code: string }) => r.code)).toEqual(["critical_alert_sustained", "critical_alert_sustained", "grace_period"]);
    expect(await listing()).toEqual(expect.objectContaining({ certificationTier: "warning", installable: true }));
    // The same evaluation again changes nothing.
    await evaluateQuality(at(t1 + 32 * MINUTE), scope);
    expect((await certification()).changes).toHaveLength(1);

    // Past the grace period, with the alert still critical: revoked, hidden from the catalog for new installs.
    await evaluateQuality(at(grace + 37 * MINUTE), scope);
    const revoked = await certification();
    expect(revoked).toEqual(expect.objectContaining({ tier: "revoked", tierSince: at(grace + 37 * MINUTE).toISOString(), graceEndsAt: null }));
    expect(revoked.reasons.map((r: { code: string }) => r.code)).toContain("revoked");
    expect(revoked.changes[0]).toEqual(
      expect.objectContaining({ from: "warning", to: "revoked", reason: expect.stringMatching(/^Revoked after 72 hours in warning/) }),
    );
    expect(revoked.score.sources.reliability).toBe("live");
    // Reliability from the 136 calls before that hour (102 on the first day, 34 in the last hour of the grace period), 40 of them timeouts.
    expect(revoked.score.dimensions.reliability).toBe(Math.round((100 * 96) / 136));
    expect(await listing()).toEqual(expect.objectContaining({ certificationTier: "revoked", installable: false }));
    const revokedMail = (await mailsTo(owner.email)).filter((m) => m.category === "quality_certification" || m.message.subject.includes(owner.ref));
    expect(revokedMail.map((m) => m.message.subject)).toEqual(["Acme Weather: certification revoked"]);

    // The capability recovers: the alerts resolve on that evidence, and 24 hours later the certification is restored.
    await evaluateQuality(at(grace + 52 * MINUTE), scope);
    expect(dataOf(await api.get(`${CAPABILITIES}/alerts?status=active`, { token: owner.access }))).toEqual([]);
    const recovering = await certification();
    expect(recovering).toEqual(
      expect.objectContaining({ tier: "revoked", causes: [], restoresAt: at(grace + 52 * MINUTE + 24 * HOUR).toISOString() }),
    );
    expect(recovering.reasons.map((r: { code: string }) => r.code)).toEqual(["revoked", "recovering"]);
    await evaluateQuality(at(grace + 52 * MINUTE + 24 * HOUR - 5 * MINUTE), scope);
    expect((await certification()).tier).toBe("revoked");
    await evaluateQuality(at(grace + 52 * MINUTE + 24 * HOUR), scope);
    const restored = await certification();
    expect(restored).toEqual(expect.objectContaining({ tier: "certified", restoresAt: null, graceEndsAt: null }));
    expect(restored.changes.map((c: { from: string; to: string }) => `${c.from}→${c.to}`)).toEqual([
      "revoked→certified",
      "warning→revoked",
      "certified→warning",
    ]);
    expect(await listing()).toEqual(expect.objectContaining({ certificationTier: "certified", installable: true }));

    // Each change was an event with its reason; only the revocation was mailed.
    const changes = await eventsOf(owner.accountId, "certification.");
    expect(changes.map((e) => `${e.data.from}→${e.data.to}`)).toEqual(["certified→warning", "warning→revoked", "revoked→certified"]);
    expect(changes[1]!.data).toEqual(
      expect.objectContaining({
        packageId: owner.packageId,
        slug: owner.capability.slug,
        score: revoked.score.overall,
        reason: expect.any(String),
        causes: expect.any(Array),
      }),
    );
    expect((await mailsTo(owner.email)).filter((m) => m.category.startsWith("quality"))).toHaveLength(1);
  }, 240_000);
});

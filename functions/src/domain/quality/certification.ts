import { HOUR, MINUTE } from "../../kernel/clock";
import { db } from "../../kernel/firebase";
import { log } from "../../kernel/logger";
import { notifyAccount } from "../events/notifications";
import { markListingCertification, readListing, type CertificationTier } from "../catalog/listing";
import { accounts } from "../accounts/account";
import { DIMENSIONS, type Dimension } from "../conformance/rules";
import { latencyBandOf, PASSING_SCORE } from "../conformance/suite";
import { findPackage, type Package } from "../packages/package";
import { findRun, validationRuns } from "../conformance/validationRun";
import { findVersion } from "../packages/version";
import { parseCapabilities, type Version } from "../packages/version";
import { type ValidationRun } from "../conformance/validationRun";
import { capabilityKey } from "../capabilities/naming";
import {
  capabilityDocId,
  certificationChanges,
  certifications,
  monitors,
  type Cause,
  type CertificationChangeDoc,
  type CertificationDoc,
  type ConformanceBasis,
  type LiveBasis,
  type MonitorDoc,
} from "./records";
import { baselineWindow, statsOfWindow } from "./rollups";
import { mergeStats, summarize } from "./stats";

/**
 * Certification (docs/quality.md#certification): the conformance dimensions refreshed with live
 * data, and a tier that moves with the package's quality.
 */
/** A critical alert counts against the package once its observations have been critical this long. */
export const SUSTAINED_CRITICAL_MS = 30 * MINUTE;
/** In `warning` this long with a cause still present: revoked. */
export const GRACE_PERIOD_MS = 72 * HOUR;
/** Without any cause this long, `warning` becomes `certified` again… */
export const WARNING_RECOVERY_MS = HOUR;
/** …and `revoked` is restored to `certified`. */
export const REVOKED_RECOVERY_MS = 24 * HOUR;
/** Invocations (30 days) before reliability is taken from live data instead of the validation's probes. */
export const LIVE_MIN_INVOCATIONS = 100;
/** Successful invocations of a capability (30 days) before its live median replaces its probe median. */
const LIVE_MIN_SUCCEEDED = 100;
/** How often a package is evaluated when all is well, and while it is not. */
const REEVALUATE_CERTIFIED_MS = HOUR;
const REEVALUATE_UNSETTLED_MS = 5 * MINUTE;
const CHANGES_SHOWN = 10;

type Scores = Record<Dimension, number>;
type Sources = { reliability: "conformance" | "live"; performance: "conformance" | "live" };

export interface Score {
  dimensions: Scores;
  sources: Sources;
  overall: number;
}

const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0);

/**
 * The six dimensions: schema, listing, security and privacy from the validation run; reliability
 * (share of successful calls) and performance (median latency against the deadline, in the
 * conformance suite's bands) from live invocations once there are enough, from the run's probes
 * before. The overall score is their mean, as in the conformance suite. Pure.
 */
export function scoreCertification(basis: ConformanceBasis, deadlines: Record<string, number>, live: LiveBasis | null): Score {
  const dimensions: Scores = { ...(basis.dimensions as Scores) };
  const sources: Sources = { reliability: "conformance", performance: "conformance" };
  if (live && live.invocations >= LIVE_MIN_INVOCATIONS) {
    dimensions.reliability = Math.round((100 * live.succeeded) / live.invocations);
    sources.reliability = "live";
  }
  let anyLive = false;
  const bands = Object.entries(deadlines).map(([capabilityId, deadlineMs]) => {
    const l = live?.capabilities[capabilityId];
    if (l && l.succeeded >= LIVE_MIN_SUCCEEDED && l.p50Ms !== null) {
      anyLive = true;
      return latencyBandOf(l.p50Ms, deadlineMs).score;
    }
    const probe = basis.probeMedians[capabilityId];
    return probe === null || probe === undefined ? 0 : latencyBandOf(probe, deadlineMs).score;
  });
  if (anyLive) {
    dimensions.performance = Math.round(mean(bands));
    sources.performance = "live";
  }
  return { dimensions, sources, overall: Math.round(mean(DIMENSIONS.map((d) => dimensions[d]))) };
}

const METRIC_NAME = { latency_p95: "p95 latency", error_rate: "error rate", availability: "availability" } as const;

/** What currently holds the package back: sustained critical alerts, and an overall score under the passing score. Pure. */
export function causesOf(overall: number, capabilityMonitors: MonitorDoc[], windowEnd: Date, previous: Cause[], now: Date): Cause[] {
  const causes: Cause[] = [];
  for (const monitor of capabilityMonitors) {
    for (const [metric, ref] of Object.entries(monitor.activeAlerts)) {
      if (!ref || ref.severity !== "critical" || !ref.criticalSince) continue;
      if (windowEnd.getTime() - ref.criticalSince.getTime() < SUSTAINED_CRITICAL_MS) continue;
      causes.push({
        code: "critical_alert_sustained",
        message: `Critical ${METRIC_NAME[metric as keyof typeof METRIC_NAME]} alert on ${monitor.capabilityRef} since ${ref.criticalSince.toISOString()}`,
        capability: monitor.capabilityRef,
        alertId: ref.alertId,
        since: ref.criticalSince,
      });
    }
  }
  if (overall < PASSING_SCORE) {
    const since = previous.find((c) => c.code === "score_below_threshold")?.since ?? now;
    causes.push({
      code: "score_below_threshold",
      message: `Overall score ${overall} is below ${PASSING_SCORE}`,
      capability: null,
      alertId: null,
      since,
    });
  }
  return causes.sort((a, b) => a.since.getTime() - b.since.getTime() || (a.capability ?? "").localeCompare(b.capability ?? ""));
}

export interface TierState {
  tier: CertificationTier;
  tierSince: Date;
  causeSince: Date | null;
  clearSince: Date | null;
}

export interface TierStep {
  state: TierState;
  change: { from: CertificationTier; to: CertificationTier; reason: string } | null;
}

const listCauses = (causes: Cause[]) => causes.map((c) => c.message).join("; ");

/**
 * The tier machine. Pure. With a cause present: certified → warning at once; warning → revoked once
 * the package has been in warning for the grace period. Without one: warning → certified after
 * WARNING_RECOVERY_MS, revoked → certified after REVOKED_RECOVERY_MS, counted from the first
 * evaluation without a cause (a cause in between starts the count again).
 */
export function nextTier(prev: TierState, causes: Cause[], now: Date): TierStep {
  const t = now.getTime();
  if (causes.length) {
    const state: TierState = { ...prev, causeSince: prev.causeSince ?? now, clearSince: null };
    if (prev.tier === "certified") {
      return {
        state: { ...state, tier: "warning", tierSince: now },
        change: { from: "certified", to: "warning", reason: `Moved to warning: ${listCauses(causes)}` },
      };
    }
    if (prev.tier === "warning" && t - prev.tierSince.getTime() >= GRACE_PERIOD_MS) {
      return {
        state: { ...state, tier: "revoked", tierSince: now },
        change: {
          from: "warning",
          to: "revoked",
          reason: `Revoked after ${GRACE_PERIOD_MS / HOUR} hours in warning (since ${prev.tierSince.toISOString()}): ${listCauses(causes)}`,
        },
      };
    }
    return { state, change: null };
  }
  const state: TierState = { ...prev, causeSince: null, clearSince: prev.clearSince ?? now };
  const clearFor = t - state.clearSince!.getTime();
  if (prev.tier === "warning" && clearFor >= WARNING_RECOVERY_MS) {
    return {
      state: { ...state, tier: "certified", tierSince: now },
      change: { from: "warning", to: "certified", reason: `Certified again: no cause since ${state.clearSince!.toISOString()}` },
    };
  }
  if (prev.tier === "revoked" && clearFor >= REVOKED_RECOVERY_MS) {
    return {
      state: { ...state, tier: "certified", tierSince: now },
      change: {
        from: "revoked",
        to: "certified",
        reason: `Certification restored: no cause for ${REVOKED_RECOVERY_MS / HOUR} hours (since ${state.clearSince!.toISOString()})`,
      },
    };
  }
  return { state, change: null };
}

/** When a warning becomes a revocation, and when an unsettled tier is restored, if nothing changes. */
export function deadlinesOf(doc: Pick<CertificationDoc, "tier" | "tierSince" | "clearSince" | "causes">): {
  graceEndsAt: Date | null;
  restoresAt: Date | null;
} {
  const graceEndsAt = doc.tier === "warning" ? new Date(doc.tierSince.getTime() + GRACE_PERIOD_MS) : null;
  const recovery = doc.tier === "warning" ? WARNING_RECOVERY_MS : doc.tier === "revoked" ? REVOKED_RECOVERY_MS : null;
  const restoresAt = recovery !== null && doc.clearSince && doc.causes.length === 0 ? new Date(doc.clearSince.getTime() + recovery) : null;
  return { graceEndsAt, restoresAt };
}

// ---------- inputs ----------

/** The latest passing validation run of the version (a published version's latest run is its passing one). */
async function passingRunOf(version: Version): Promise<ValidationRun | null> {
  if (version.validation?.passed) {
    const run = await findRun(version.packageId, version.id, version.validation.runId);
    if (run?.report) return run;
  }
  const snap = await validationRuns(version.packageId, version.id).where("status", "==", "passed").orderBy("finishedAt", "desc").limit(1).get();
  const doc = snap.docs[0];
  return doc ? { id: doc.id, ...doc.data() } : null;
}

export async function conformanceBasisOf(version: Version): Promise<ConformanceBasis> {
  const run = await passingRunOf(version);
  const report = run?.report ?? null;
  const zero = Object.fromEntries(DIMENSIONS.map((d) => [d, 0])) as Scores;
  return {
    versionId: version.id,
    version: version.version,
    runId: run?.id ?? null,
    dimensions: report ? { ...zero, ...report.dimensions } : zero,
    probeMedians: Object.fromEntries((report?.probes ?? []).map((p) => [p.capabilityId, p.medianLatencyMs])),
  };
}

async function liveBasisOf(pkg: Package, version: Version, capabilityIds: string[], now: Date): Promise<LiveBasis> {
  const window = baselineWindow(now);
  const keys = capabilityIds.map((id) => capabilityKey(pkg.id, id));
  const stats = await statsOfWindow(keys, window);
  const total = summarize(mergeStats(...stats.values()));
  return {
    versionId: version.id,
    windowEnd: window.to,
    invocations: total.invocations,
    succeeded: total.succeeded,
    capabilities: Object.fromEntries(
      capabilityIds.map((id) => {
        const s = summarize(stats.get(capabilityKey(pkg.id, id))!);
        return [id, { succeeded: s.succeeded, p50Ms: s.latencyMs?.p50 ?? null }];
      }),
    ),
  };
}

interface CurrentVersion {
  pkg: Package;
  version: Version;
  deadlines: Record<string, number>;
}

/** The package and its current version, or null when it has none (never published). */
async function currentVersionOf(packageId: string): Promise<CurrentVersion | null> {
  const pkg = await findPackage(packageId);
  if (!pkg?.currentVersionId) return null;
  const version = await findVersion(pkg.id, pkg.currentVersionId);
  if (!version) return null;
  const deadlines = Object.fromEntries(parseCapabilities(version.capabilitiesJson).map((c) => [c.id, c.deadlineMs]));
  return { pkg, version, deadlines };
}

// ---------- evaluation ----------

export type CertificationOutcome = { packageId: string; tier: CertificationTier; changed: boolean } | null;

/**
 * Evaluates one package at `now` (alerts judged on windows ending at `windowEnd`): scores, causes,
 * the tier machine; on a change it records it (changes/{seq}), updates the catalog listing and
 * tells the provider, all in one transaction. Evaluating again at the same `now` changes nothing.
 */
export async function evaluateCertification(packageId: string, now: Date, windowEnd: Date): Promise<CertificationOutcome> {
  const current = await currentVersionOf(packageId);
  if (!current) return null;
  const { pkg, version, deadlines } = current;
  const certRef = certifications().doc(pkg.id);
  const cached = (await certRef.get()).data();
  const basis = cached?.conformance.versionId === version.id ? cached.conformance : await conformanceBasisOf(version);
  const liveFresh = cached?.live && cached.live.versionId === version.id && cached.live.windowEnd.getTime() === baselineWindow(now).to.getTime();
  const live = liveFresh ? cached!.live! : await liveBasisOf(pkg, version, Object.keys(deadlines), now);
  const score = scoreCertification(basis, deadlines, live);
  const monitorRefs = Object.keys(deadlines).map((id) => monitors().doc(capabilityDocId(capabilityKey(pkg.id, id))));

  const outcome = await db().runTransaction(async (tx) => {
    const existing = (await tx.get(certRef)).data();
    // A slower run of an earlier schedule finishing after a later one must not move the state back.
    if (existing && existing.evaluatedAt.getTime() > now.getTime()) return { packageId: pkg.id, tier: existing.tier, change: null };
    const capabilityMonitors = (await tx.getAll(...monitorRefs)).map((s) => s.data()).filter((m): m is MonitorDoc => m !== undefined);
    const listing = await readListing(tx, pkg.id);
    const account = (await tx.get(accounts().doc(pkg.accountId))).data();

    const causes = causesOf(score.overall, capabilityMonitors, windowEnd, existing?.causes ?? [], now);
    const prev: TierState = existing
      ? { tier: existing.tier, tierSince: existing.tierSince, causeSince: existing.causeSince, clearSince: existing.clearSince }
      : { tier: listing?.certificationTier ?? "certified", tierSince: now, causeSince: null, clearSince: null };
    const step = nextTier(prev, causes, now);
    const settled = step.state.tier === "certified" && causes.length === 0;
    const doc: CertificationDoc = {
      packageId: pkg.id,
      accountId: pkg.accountId,
      appId: pkg.appId,
      slug: pkg.slug,
      name: pkg.name,
      conformance: basis,
      live,
      dimensions: score.dimensions,
      sources: score.sources,
      overall: score.overall,
      ...step.state,
      causes,
      evaluatedAt: now,
      nextEvaluationAt: new Date(now.getTime() + (settled ? REEVALUATE_CERTIFIED_MS : REEVALUATE_UNSETTLED_MS)),
      changeCount: (existing?.changeCount ?? 0) + (step.change ? 1 : 0),
    };
    tx.set(certRef, doc);
    if (listing && listing.certificationTier !== doc.tier) markListingCertification(tx, listing, doc.tier, now);
    if (step.change) {
      const change: CertificationChangeDoc = { seq: doc.changeCount, ...step.change, at: now, causes, overall: score.overall };
      tx.create(certificationChanges(pkg.id).doc(String(doc.changeCount).padStart(6, "0")), change);
      if (account) {
        const { graceEndsAt, restoresAt } = deadlinesOf(doc);
        notifyAccount(
          tx,
          { id: pkg.accountId, ...account },
          pkg.appId,
          {
            type: "certification.changed",
            data: {
              packageId: pkg.id,
              slug: pkg.slug,
              from: step.change.from,
              to: step.change.to,
              score: score.overall,
              reason: step.change.reason,
              causes: causes.map((c) => ({ code: c.code, capability: c.capability, alertId: c.alertId, since: c.since.toISOString() })),
              graceEndsAt: graceEndsAt?.toISOString() ?? null,
              restoresAt: restoresAt?.toISOString() ?? null,
            },
            mail: certificationMail(pkg.name, step.change, graceEndsAt),
          },
          // Revocation takes the package out of the catalog: the provider is always told.
          { preference: step.change.to === "revoked" ? null : "quality_alerts", category: "quality_certification" },
          now,
        );
      }
    }
    return { packageId: pkg.id, tier: doc.tier, change: step.change };
  });
  if (outcome.change) log.certificationChanged(pkg.id, outcome.change.from, outcome.change.to);
  return { packageId: outcome.packageId, tier: outcome.tier, changed: outcome.change !== null };
}

function certificationMail(name: string, change: NonNullable<TierStep["change"]>, graceEndsAt: Date | null) {
  if (change.to === "warning") {
    return {
      subject: `${name}: certification moved to warning`,
      paragraphs: [
        change.reason,
        `If a cause is still present at ${graceEndsAt!.toISOString()}, the certification is revoked and ${name} is hidden from the catalog for new installs.`,
        "Details: GET /v1/providers/capabilities/certification and /v1/providers/capabilities/alerts?status=active",
      ],
    };
  }
  if (change.to === "revoked") {
    return {
      subject: `${name}: certification revoked`,
      paragraphs: [
        change.reason,
        `${name} is hidden from the catalog and takes no new installs; existing installs keep working.`,
        `It is certified again after ${REVOKED_RECOVERY_MS / HOUR} hours without a sustained critical alert. Alerts resolve on evidence: a 15-minute window with enough invocations and none of its thresholds crossed.`,
      ],
    };
  }
  const back = change.from === "revoked" ? "It is back in the catalog and takes new installs." : "No action is needed.";
  return { subject: `${name} is certified again`, paragraphs: [change.reason, back] };
}

/** The latest tier changes, newest first. */
export async function recentChanges(packageId: string): Promise<CertificationChangeDoc[]> {
  const snap = await certificationChanges(packageId).orderBy("seq", "desc").limit(CHANGES_SHOWN).get();
  return snap.docs.map((d) => d.data());
}

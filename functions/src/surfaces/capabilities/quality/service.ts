import type { z } from "zod";
import type { OAuthAppPrincipal } from "../../../domain/accounts/principals";
import { type Clock, systemClock } from "../../../kernel/clock";
import { notFound } from "../../../kernel/errors";
import { db } from "../../../kernel/firebase";
import { iso, isoOrNull } from "../../../kernel/http/envelope";
import { pageOf } from "../../../kernel/firestore";
import type { Page } from "../../../kernel/http/envelope";
import { packages, type Package } from "../../../domain/packages/package";
import { versions } from "../../../domain/packages/version";
import { parseCapabilities, type Version } from "../../../domain/packages/version";
import { capabilityKey, capabilityRef } from "../../../domain/capabilities/naming";
import { conditionOf, METRIC_UNIT } from "../../../domain/quality/alerts";
import { conformanceBasisOf, deadlinesOf, LIVE_MIN_INVOCATIONS, recentChanges, scoreCertification } from "../../../domain/quality/certification";
import { alerts, certifications, type CertificationDoc } from "../../../domain/quality/records";
import { baselineWindow, statsOfWindow, dailyStatsOfWindow } from "../../../domain/quality/rollups";
import {
  type AlertOut,
  type AlertsQuery,
  type BaselineOut,
  type BaselinesQuery,
  type CertificationOut,
  type CertificationQuery,
  toAlertOut,
  toBaselineOut,
} from "./schemas";
import { summarize } from "../../../domain/quality/stats";

interface PublishedPackage {
  pkg: Package;
  version: Version;
  capabilities: { id: string; deadlineMs: number }[];
}

const page = <T>(items: T[], limit: number, offset: number): Page<T> => ({
  items: items.slice(offset, offset + limit),
  total: items.length,
  limit,
  offset,
});

/**
 * The Certification endpoints of the Capabilities API. A provider app sees the packages of its own
 * app (package.appId === the token's app) that have a version in the catalog, and their capabilities.
 */
export class QualityService {
  constructor(private readonly clock: Clock = systemClock) {}

  /** The app's packages with a current version, by slug; 404 for a package id that is not one of them. */
  private async publishedPackages(appId: string, onlyPackageId?: string): Promise<PublishedPackage[]> {
    const snap = await packages().where("appId", "==", appId).get();
    const published = snap.docs.map((d) => ({ id: d.id, ...d.data() })).filter((p) => p.currentVersionId !== null);
    const selected = onlyPackageId ? published.filter((p) => p.id === onlyPackageId) : published;
    if (onlyPackageId && selected.length === 0) throw notFound("package", onlyPackageId);
    if (selected.length === 0) return [];
    const versionSnaps = await db().getAll(...selected.map((p) => versions(p.id).doc(p.currentVersionId!)));
    return selected
      .map((pkg, i) => {
        const data = versionSnaps[i]!.data() as Version | undefined;
        if (!data) return null;
        const version = { ...data, id: versionSnaps[i]!.id };
        return { pkg, version, capabilities: parseCapabilities(version.capabilitiesJson).map((c) => ({ id: c.id, deadlineMs: c.deadlineMs })) };
      })
      .filter((p): p is PublishedPackage => p !== null)
      .sort((a, b) => a.pkg.slug.localeCompare(b.pkg.slug));
  }

  async baselines(principal: OAuthAppPrincipal, query: z.output<typeof BaselinesQuery>): Promise<Page<z.input<typeof BaselineOut>>> {
    const published = await this.publishedPackages(principal.appId, query.packageId);
    let capabilities = published
      .flatMap(({ pkg, capabilities }) =>
        capabilities.map((c) => ({ pkg, ...c, ref: capabilityRef(pkg.slug, c.id), key: capabilityKey(pkg.id, c.id) })),
      )
      .sort((a, b) => a.ref.localeCompare(b.ref));
    if (query.capability) {
      capabilities = capabilities.filter((c) => c.ref === query.capability);
      if (capabilities.length === 0) throw notFound("capability", query.capability);
    }
    const selected = page(capabilities, query.limit, query.offset);
    const window = baselineWindow(this.clock.now());
    const keys = selected.items.map((c) => c.key);
    const daily = query.series === "daily" ? await dailyStatsOfWindow(keys, window) : null;
    const stats = daily ? new Map([...daily].map(([key, d]) => [key, d.total])) : await statsOfWindow(keys, window);
    return {
      ...selected,
      items: selected.items.map((c) =>
        toBaselineOut({
          capability: c.ref,
          packageId: c.pkg.id,
          capabilityId: c.id,
          deadlineMs: c.deadlineMs,
          window,
          summary: summarize(stats.get(c.key)!),
          ...(daily ? { daily: daily.get(c.key)!.days.map((d) => ({ day: d.day, summary: summarize(d.stats) })) } : {}),
        }),
      ),
    };
  }

  async certification(principal: OAuthAppPrincipal, query: z.output<typeof CertificationQuery>): Promise<Page<z.input<typeof CertificationOut>>> {
    const published = await this.publishedPackages(principal.appId, query.packageId);
    if (published.length === 0) return page([], query.limit, query.offset);
    const ids = published.map((p) => p.pkg.id);
    const certSnaps = await db().getAll(...ids.map((id) => certifications().doc(id)));
    const views = await Promise.all(
      published.map(async (p, i) => {
        const doc = certSnaps[i]!.data() as CertificationDoc | undefined;
        return doc && doc.conformance.versionId === p.version.id ? viewOf(doc, p) : await unevaluatedView(p, doc ?? null);
      }),
    );
    const selected = page(query.tier ? views.filter((v) => v.tier === query.tier) : views, query.limit, query.offset);
    const changes = await Promise.all(selected.items.map((v) => recentChanges(v.packageId)));
    return {
      ...selected,
      items: selected.items.map((v, i) => ({
        ...v,
        changes: changes[i]!.map((c) => ({ from: c.from, to: c.to, at: iso(c.at), reason: c.reason, overall: c.overall })),
      })),
    };
  }

  async alerts(principal: OAuthAppPrincipal, query: z.output<typeof AlertsQuery>): Promise<Page<z.input<typeof AlertOut>>> {
    let q = alerts().where("appId", "==", principal.appId);
    if (query.status) q = q.where("status", "==", query.status);
    if (query.severity) q = q.where("severity", "==", query.severity);
    const result = await pageOf(q, "openedAt", "desc", query.limit, query.offset);
    return {
      ...result,
      limit: query.limit,
      offset: query.offset,
      items: result.items.map((a) => toAlertOut(a, conditionOf(a.metric, a.severity, a.baselineValue), METRIC_UNIT[a.metric])),
    };
  }
}

type CertificationView = Omit<z.input<typeof CertificationOut>, "changes">;

const dimensionSources = (sources: CertificationDoc["sources"]) => ({
  schema: "conformance" as const,
  listing: "conformance" as const,
  security: "conformance" as const,
  reliability: sources.reliability,
  performance: sources.performance,
  privacy: "conformance" as const,
});

const roundScores = (dimensions: Record<string, number>) =>
  Object.fromEntries(Object.entries(dimensions).map(([d, v]) => [d, Math.round(v)])) as CertificationView["score"]["dimensions"];

/** Why the package has its tier, in words. */
function reasonsOf(
  doc: Pick<CertificationDoc, "tier" | "tierSince" | "clearSince" | "causes" | "overall" | "sources">,
): { code: string; message: string }[] {
  const reasons: { code: string; message: string }[] = doc.causes.map((c) => ({ code: c.code, message: c.message }));
  const { graceEndsAt, restoresAt } = deadlinesOf(doc);
  if (doc.tier === "certified") {
    reasons.push({ code: "meets_thresholds", message: `Overall score ${doc.overall} is at least 80 and no critical alert has lasted 30 minutes` });
  }
  if (doc.tier === "warning" && graceEndsAt && doc.causes.length) {
    reasons.push({
      code: "grace_period",
      message: `In warning since ${iso(doc.tierSince)}; revoked at ${iso(graceEndsAt)} if a cause is still present then`,
    });
  }
  if (doc.tier === "revoked") {
    reasons.push({
      code: "revoked",
      message: `Revoked at ${iso(doc.tierSince)}: hidden from the catalog for new installs; existing installs keep working`,
    });
  }
  if (restoresAt && doc.clearSince) {
    reasons.push({ code: "recovering", message: `No cause since ${iso(doc.clearSince)}: certified again at ${iso(restoresAt)} unless one returns` });
  }
  if (doc.sources.reliability === "conformance" && doc.sources.performance === "conformance") {
    reasons.push({
      code: "conformance_only",
      message: `Reliability and performance come from the validation run until there are ${LIVE_MIN_INVOCATIONS} invocations in 30 days`,
    });
  }
  return reasons;
}

interface ViewState {
  tier: CertificationDoc["tier"];
  tierSince: Date | null;
  clearSince: Date | null;
  causes: CertificationDoc["causes"];
  evaluatedAt: Date | null;
}

function certificationView(
  p: PublishedPackage,
  state: ViewState,
  score: Pick<CertificationDoc, "overall" | "dimensions" | "sources">,
  runId: string | null,
): CertificationView {
  const timed = { ...state, ...score, tierSince: state.tierSince ?? new Date(0) }; // tierSince is only read for a warning, which implies a stored evaluation
  const { graceEndsAt, restoresAt } = deadlinesOf(timed);
  return {
    packageId: p.pkg.id,
    slug: p.pkg.slug,
    name: p.pkg.name,
    versionId: p.version.id,
    version: p.version.version,
    tier: state.tier,
    tierSince: isoOrNull(state.tierSince),
    score: { overall: score.overall, dimensions: roundScores(score.dimensions), sources: dimensionSources(score.sources) },
    validationRunId: runId,
    reasons: reasonsOf(timed),
    causes: state.causes.map((c) => ({ code: c.code, message: c.message, capability: c.capability, alertId: c.alertId, since: iso(c.since) })),
    graceEndsAt: isoOrNull(graceEndsAt),
    restoresAt: isoOrNull(restoresAt),
    evaluatedAt: isoOrNull(state.evaluatedAt),
  };
}

const viewOf = (doc: CertificationDoc, p: PublishedPackage) => certificationView(p, doc, doc, doc.conformance.runId);

/**
 * A published package the job has not evaluated yet (no invocation so far, or a version published
 * since): the validation run's scores, and the tier the package holds.
 */
async function unevaluatedView(p: PublishedPackage, stale: CertificationDoc | null): Promise<CertificationView> {
  const basis = await conformanceBasisOf(p.version);
  const score = scoreCertification(basis, Object.fromEntries(p.capabilities.map((c) => [c.id, c.deadlineMs])), null);
  // The tier belongs to the package, not the version: a newer version keeps it until the next evaluation.
  const state: ViewState = stale ?? { tier: "certified", tierSince: null, clearSince: null, causes: [], evaluatedAt: null };
  return certificationView(p, state, score, basis.runId);
}

import { z } from "zod";
import { urlProblem, isLoopbackHost } from "../../kernel/urls";
import {
  type CapabilityDescriptor,
  DATA_CATEGORY_MIN_TIER,
  RISK_TIERS,
  type RiskTier,
  SCOPE_PATTERN,
  SCOPE_VERB_MIN_TIER,
  tierRank,
} from "../packages/descriptor";
import { mapLimit } from "../../kernel/concurrency";
import { appendPointer, compileJsonSchema, describeProblem, firstError } from "../../kernel/jsonSchema";
import type { ProbeResult, RuntimeProber, RuntimeRegistration } from "./prober";
import { DIMENSIONS, type Dimension, type Finding, finding, type RuleId } from "./rules";

/** What a run validates: the version and the package's listing metadata as they were when it was requested. */
export interface ConformanceSubject {
  appId: string;
  package: {
    name: string;
    description: string;
    category: string | null;
    images: { icon: string | null; screenshots: string[] };
    privacyPolicyUrl: string | null;
    supportUrl: string | null;
  };
  version: {
    version: string;
    riskTier: RiskTier;
    changelog: string | null;
    capabilities: CapabilityDescriptor[];
    /** Whether the package has a version older than this one (the changelog rule applies then). */
    hasOlderVersion: boolean;
  };
}

export const PASSING_SCORE = 80;
export const PROBES_PER_CAPABILITY = 3;
/** Capabilities probed at once; each capability's probes run one after another. */
const PROBE_CONCURRENCY = 5;
const DEDUCTION: Record<Finding["severity"], number> = { error: 30, warning: 10, info: 0 };

/** Latency bands, as a share of the capability's deadline: coarse, so reruns land in the same band. */
const LATENCY_BANDS: readonly { upTo: number; score: number; label: string }[] = [
  { upTo: 0.1, score: 100, label: "within 10%" },
  { upTo: 0.25, score: 90, label: "within 10–25%" },
  { upTo: 0.5, score: 70, label: "within 25–50%" },
  { upTo: 1, score: 50, label: "within 50–100%" },
];

/** The band a median latency falls in (beyond the deadline: the last band). */
export const latencyBandOf = (medianLatencyMs: number, deadlineMs: number) =>
  LATENCY_BANDS.find((b) => medianLatencyMs / deadlineMs <= b.upTo) ?? LATENCY_BANDS[LATENCY_BANDS.length - 1]!;

export const ProbeSummary = z
  .object({
    capabilityId: z.string(),
    probes: z.number().int(),
    succeeded: z.number().int(),
    medianLatencyMs: z.number().nullable().meta({ description: "Median latency of the successful probes (informational: scores use bands)." }),
    band: z.string().nullable(),
  })
  .meta({ id: "ProbeSummary" });
export type ProbeSummary = z.infer<typeof ProbeSummary>;

export interface ConformanceReport {
  overall: number;
  passed: boolean;
  dimensions: Record<Dimension, number>;
  findings: Finding[];
  probes: ProbeSummary[];
}

const cap = (i: number) => `$.version.capabilities[${i}]`;

// ---------- static rules: schema validity, listing, security (descriptor), privacy ----------

function schemaFindings(capabilities: CapabilityDescriptor[]): Finding[] {
  const out: Finding[] = [];
  const seen = new Set<string>();
  capabilities.forEach((c, i) => {
    if (seen.has(c.id)) out.push(finding("schema.duplicate_capability_id", `${cap(i)}.id`, `Capability id '${c.id}' is used more than once`));
    seen.add(c.id);

    const input = compileJsonSchema(c.inputSchema);
    if (!input.ok) {
      out.push(
        finding(
          "schema.invalid_input_schema",
          appendPointer(`${cap(i)}.inputSchema`, input.pointer),
          `inputSchema is not a valid JSON Schema: ${describeProblem(input)}`,
        ),
      );
    } else {
      const type = c.inputSchema.type;
      if (type !== "object" && !(Array.isArray(type) && type.includes("object"))) {
        out.push(finding("schema.input_not_object", `${cap(i)}.inputSchema.type`, 'inputSchema should have type "object"'));
      }
      const problem = firstError(input.validate, c.sampleInput);
      if (problem) {
        out.push(
          finding(
            "schema.sample_input_invalid",
            appendPointer(`${cap(i)}.sampleInput`, problem.pointer),
            `sampleInput does not match inputSchema: ${describeProblem(problem)}`,
          ),
        );
      }
    }

    const output = compileJsonSchema(c.outputSchema);
    if (!output.ok) {
      out.push(
        finding(
          "schema.invalid_output_schema",
          appendPointer(`${cap(i)}.outputSchema`, output.pointer),
          `outputSchema is not a valid JSON Schema: ${describeProblem(output)}`,
        ),
      );
    } else if (!["type", "properties", "$ref", "anyOf", "oneOf", "allOf", "const", "enum", "items", "prefixItems"].some((k) => k in c.outputSchema)) {
      out.push(finding("schema.output_unconstrained", `${cap(i)}.outputSchema`, "outputSchema accepts anything; describe the answer's shape"));
    }

    const r = c.refreshIntervalSeconds;
    if (r > 0 && r < 60)
      out.push(
        finding(
          "schema.refresh_interval_too_short",
          `${cap(i)}.refreshIntervalSeconds`,
          `refreshIntervalSeconds is ${r}; use 0 (on demand) or at least 60`,
        ),
      );
    else if (r >= 60 && r < 300)
      out.push(
        finding(
          "schema.refresh_interval_aggressive",
          `${cap(i)}.refreshIntervalSeconds`,
          `refreshIntervalSeconds is ${r}; 300 or more is recommended`,
        ),
      );

    const actionIds = new Set<string>();
    c.actions.forEach((a, j) => {
      const path = `${cap(i)}.actions[${j}]`;
      if (actionIds.has(a.id))
        out.push(finding("schema.duplicate_action_id", `${path}.id`, `Action id '${a.id}' is used more than once in capability '${c.id}'`));
      actionIds.add(a.id);
      const check = compileJsonSchema(a.inputSchema);
      if (!check.ok)
        out.push(
          finding(
            "schema.invalid_action_schema",
            appendPointer(`${path}.inputSchema`, check.pointer),
            `Action inputSchema is not a valid JSON Schema: ${describeProblem(check)}`,
          ),
        );
    });
  });
  return out;
}

function listingFindings(subject: ConformanceSubject): Finding[] {
  const out: Finding[] = [];
  const p = subject.package;
  if (!p.category) out.push(finding("listing.category_missing", "$.package.category", "Choose a catalog category"));
  if (p.description.length < 50)
    out.push(
      finding("listing.description_too_short", "$.package.description", `Description has ${p.description.length} characters; write at least 50`),
    );
  if (!p.images.icon) out.push(finding("listing.icon_missing", "$.package.images.icon", "Add an icon URL"));
  if (p.images.screenshots.length === 0)
    out.push(finding("listing.screenshots_missing", "$.package.images.screenshots", "Add at least one screenshot URL"));
  if (!p.supportUrl) out.push(finding("listing.support_url_missing", "$.package.supportUrl", "Add a support URL"));
  subject.version.capabilities.forEach((c, i) => {
    if (!c.description) out.push(finding("listing.capability_description_missing", `${cap(i)}.description`, `Describe capability '${c.id}'`));
  });
  if (subject.version.hasOlderVersion && !subject.version.changelog) {
    out.push(finding("listing.changelog_missing", "$.version.changelog", "Say what changed since the previous version"));
  }
  return out;
}

function scopeFindings(scopes: string[], path: string, tier: RiskTier): Finding[] {
  const out: Finding[] = [];
  scopes.forEach((scope, k) => {
    if (!SCOPE_PATTERN.test(scope)) {
      out.push(
        finding(
          "security.scope_invalid",
          `${path}[${k}]`,
          `Scope '${scope}' must look like read:<resource>, write:<resource> or payments:<resource>`,
        ),
      );
      return;
    }
    const needed = SCOPE_VERB_MIN_TIER[scope.split(":")[0] as keyof typeof SCOPE_VERB_MIN_TIER];
    if (tierRank(needed) > tierRank(tier)) {
      out.push(
        finding("security.scope_exceeds_tier", `${path}[${k}]`, `Scope '${scope}' needs risk tier ${needed} or higher; this version is ${tier}`),
      );
    }
  });
  return out;
}

function descriptorSecurityFindings(version: ConformanceSubject["version"]): Finding[] {
  const out: Finding[] = [];
  const tier = version.riskTier;
  version.capabilities.forEach((c, i) => {
    out.push(...scopeFindings(c.scopes, `${cap(i)}.scopes`, tier));
    if (c.actions.length && tierRank(tier) < tierRank("write_actions")) {
      out.push(
        finding("security.actions_not_allowed", `${cap(i)}.actions`, `Actions need risk tier write_actions or financial; this version is ${tier}`),
      );
    }
    c.actions.forEach((a, j) => {
      const path = `${cap(i)}.actions[${j}].scopes`;
      out.push(...scopeFindings(a.scopes, path, tier));
      if (!a.scopes.some((s) => s.startsWith("write:") || s.startsWith("payments:"))) {
        out.push(finding("security.action_scope_missing", path, `Action '${a.id}' must declare the write: or payments: scope it needs`));
      }
    });
    const personal = c.dataCategories.some((d) => d !== "public");
    if (personal && !c.scopes.some((s) => s.startsWith("read:"))) {
      out.push(
        finding("security.read_scope_missing", `${cap(i)}.scopes`, `Capability '${c.id}' handles personal data; declare the read: scopes it needs`),
      );
    }
  });
  return out;
}

function runtimeSecurityFindings(subject: ConformanceSubject, runtime: RuntimeRegistration | null): Finding[] {
  if (!runtime) {
    return [
      finding(
        "security.auth_profile_missing",
        "$.runtime.authProfile",
        `No runtime app is registered for app ${subject.appId}, so there is no auth profile`,
      ),
    ];
  }
  const out: Finding[] = [];
  const problem = urlProblem(runtime.endpointUrl);
  if (problem) out.push(finding("security.endpoint_not_https", "$.runtime.endpointUrl", `Runtime endpoint: ${problem}`));
  else if (new URL(runtime.endpointUrl).protocol === "http:" && isLoopbackHost(new URL(runtime.endpointUrl).hostname)) {
    out.push(
      finding("security.endpoint_loopback", "$.runtime.endpointUrl", "Runtime endpoint is a loopback http URL (accepted on the emulators only)"),
    );
  }
  if (!runtime.authProfile) {
    out.push(finding("security.auth_profile_missing", "$.runtime.authProfile", `Runtime app ${runtime.runtimeAppId} has no auth profile`));
  } else if (subject.version.riskTier === "financial" && runtime.authProfile.type !== "oauth2") {
    out.push(
      finding(
        "security.auth_profile_too_weak",
        "$.runtime.authProfile.type",
        `financial packages need an oauth2 auth profile, not ${runtime.authProfile.type}`,
      ),
    );
  }
  return out;
}

function privacyFindings(subject: ConformanceSubject): Finding[] {
  const out: Finding[] = [];
  const tier = subject.version.riskTier;
  let needed = 0;
  subject.version.capabilities.forEach((c, i) => {
    if (c.dataCategories.length === 0)
      out.push(
        finding(
          "privacy.data_categories_missing",
          `${cap(i)}.dataCategories`,
          `Declare the data categories capability '${c.id}' handles (public for public data)`,
        ),
      );
    c.dataCategories.forEach((d, k) => {
      const min = DATA_CATEGORY_MIN_TIER[d];
      needed = Math.max(needed, tierRank(min));
      if (tierRank(min) > tierRank(tier)) {
        out.push(
          finding(
            "privacy.category_exceeds_tier",
            `${cap(i)}.dataCategories[${k}]`,
            `Data category '${d}' needs risk tier ${min} or higher; this version is ${tier}`,
          ),
        );
      }
    });
    for (const scope of [...c.scopes, ...c.actions.flatMap((a) => a.scopes)]) {
      const verb = scope.split(":")[0] as keyof typeof SCOPE_VERB_MIN_TIER;
      if (SCOPE_PATTERN.test(scope)) needed = Math.max(needed, tierRank(SCOPE_VERB_MIN_TIER[verb]));
    }
    if (c.actions.length) needed = Math.max(needed, tierRank("write_actions"));
  });
  if (needed < tierRank(tier)) {
    out.push(
      finding(
        "privacy.tier_overstated",
        "$.version.riskTier",
        `The declared data, scopes and actions need only ${RISK_TIERS[needed]}; ${tier} means a manual review`,
      ),
    );
  }
  if (tier !== "data_only" && !subject.package.privacyPolicyUrl) {
    out.push(finding("privacy.policy_url_missing", "$.package.privacyPolicyUrl", `${tier} packages need a privacy policy URL`));
  }
  return out;
}

// ---------- runtime rules: reliability and performance ----------

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

interface CapabilityProbes {
  findings: Finding[];
  summary: ProbeSummary;
  performanceScore: number;
}

async function probeCapability<R extends RuntimeRegistration>(
  prober: RuntimeProber<R>,
  runtime: R,
  c: CapabilityDescriptor,
  i: number,
): Promise<CapabilityProbes> {
  const output = compileJsonSchema(c.outputSchema);
  const results: ProbeResult[] = [];
  for (let n = 0; n < PROBES_PER_CAPABILITY; n++) {
    results.push(await prober.probe(runtime, { capabilityId: c.id, deadlineMs: c.deadlineMs, input: c.sampleInput }));
  }
  // One finding per kind of failure, with the first occurrence's detail, so reruns read the same.
  const failures = new Map<RuleId, { count: number; detail: string }>();
  const fail = (rule: RuleId, detail: string) => {
    const entry = failures.get(rule);
    if (entry) entry.count++;
    else failures.set(rule, { count: 1, detail });
  };
  const latencies: number[] = [];
  for (const r of results) {
    if (r.outcome === "timeout") fail("reliability.probe_timeout", `no answer within ${c.deadlineMs} ms`);
    else if (r.outcome === "http_error") fail("reliability.probe_failed", `HTTP ${r.httpStatus}`);
    else if (r.outcome === "network_error") fail("reliability.probe_failed", r.error ?? "network error");
    else if (r.outcome === "not_json") fail("reliability.response_not_json", "the answer is not JSON");
    else {
      const problem = output.ok ? firstError(output.validate, r.output) : null;
      if (problem) fail("reliability.output_invalid", describeProblem(problem));
      else latencies.push(r.latencyMs);
    }
  }
  const findings = [...failures].map(([rule, { count, detail }]) =>
    finding(
      rule,
      rule === "reliability.output_invalid" ? `${cap(i)}.outputSchema` : cap(i),
      `${count} of ${PROBES_PER_CAPABILITY} probes of '${c.id}': ${detail}`,
    ),
  );

  let performanceScore = 0;
  let band: string | null = null;
  let medianLatencyMs: number | null = null;
  if (latencies.length === 0) {
    findings.push(finding("performance.not_measured", cap(i), `No successful probe of '${c.id}', so its latency could not be measured`));
  } else {
    medianLatencyMs = Math.round(median(latencies) * 10) / 10;
    const ratio = medianLatencyMs / c.deadlineMs;
    const hit = latencyBandOf(medianLatencyMs, c.deadlineMs);
    performanceScore = hit.score;
    band = `${hit.label} of ${c.deadlineMs} ms`;
    if (ratio > 0.25)
      findings.push(finding("performance.slow", `${cap(i)}.deadlineMs`, `Median latency of '${c.id}' is ${band}; aim for 25% or less`));
  }
  return {
    findings,
    performanceScore,
    summary: { capabilityId: c.id, probes: results.length, succeeded: latencies.length, medianLatencyMs, band },
  };
}

// ---------- the suite ----------

const FINDING_ORDER = [...DIMENSIONS, "policy"];
const SEVERITY_ORDER = ["error", "warning", "info"];

export function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      FINDING_ORDER.indexOf(a.dimension) - FINDING_ORDER.indexOf(b.dimension) ||
      SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity) ||
      a.path.localeCompare(b.path) ||
      a.ruleId.localeCompare(b.ruleId) ||
      a.message.localeCompare(b.message),
  );
}

const ruleScore = (findings: Finding[], dimension: Dimension) =>
  Math.max(0, 100 - findings.filter((f) => f.dimension === dimension).reduce((sum, f) => sum + DEDUCTION[f.severity], 0));

/**
 * Runs the six dimensions. Schema, listing, security and privacy are scored by their findings
 * (100 minus 30 per error and 10 per warning); reliability is the share of successful probes and
 * performance the mean latency band. A run passes at 80 or more with no error finding.
 */
export async function runConformanceSuite<R extends RuntimeRegistration>(
  subject: ConformanceSubject,
  prober: RuntimeProber<R>,
): Promise<ConformanceReport> {
  const runtime = await prober.registrationFor(subject.appId);
  const findings: Finding[] = [
    ...schemaFindings(subject.version.capabilities),
    ...listingFindings(subject),
    ...descriptorSecurityFindings(subject.version),
    ...runtimeSecurityFindings(subject, runtime),
    ...privacyFindings(subject),
  ];

  const capabilities = subject.version.capabilities;
  let reliability = 0;
  let performance = 0;
  let probes: ProbeSummary[] = capabilities.map((c) => ({ capabilityId: c.id, probes: 0, succeeded: 0, medianLatencyMs: null, band: null }));
  if (!runtime) {
    findings.push(
      finding(
        "reliability.runtime_not_registered",
        "$.runtime",
        `No runtime app is registered for app ${subject.appId}; register one so the capabilities can be probed`,
      ),
    );
  } else if (runtime.status !== "active") {
    findings.push(
      finding(
        "reliability.runtime_inactive",
        "$.runtime.status",
        `Runtime app ${runtime.runtimeAppId} is ${runtime.status}; activate it so the capabilities can be probed`,
      ),
    );
  } else {
    const results = await mapLimit(capabilities, PROBE_CONCURRENCY, (c, i) => probeCapability(prober, runtime, c, i));
    probes = results.map((r) => r.summary);
    findings.push(...results.flatMap((r) => r.findings));
    const total = probes.reduce((s, p) => s + p.probes, 0);
    reliability = total ? Math.round((100 * probes.reduce((s, p) => s + p.succeeded, 0)) / total) : 0;
    performance = Math.round(results.reduce((s, r) => s + r.performanceScore, 0) / results.length);
  }

  const dimensions: Record<Dimension, number> = {
    schema: ruleScore(findings, "schema"),
    listing: ruleScore(findings, "listing"),
    security: ruleScore(findings, "security"),
    reliability,
    performance,
    privacy: ruleScore(findings, "privacy"),
  };
  const overall = Math.round(DIMENSIONS.reduce((s, d) => s + dimensions[d], 0) / DIMENSIONS.length);
  const sorted = sortFindings(findings);
  return { overall, passed: overall >= PASSING_SCORE && !sorted.some((f) => f.severity === "error"), dimensions, findings: sorted, probes };
}

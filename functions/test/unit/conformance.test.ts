import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ProbeResult, ProbeTarget, RuntimeProber, RuntimeRegistration } from "../../src/domain/conformance/prober";
import { compileJsonSchema, jsonSchemaProblem } from "../../src/kernel/jsonSchema";
import { RULES } from "../../src/domain/conformance/rules";
import { type ConformanceSubject, PROBES_PER_CAPABILITY, runConformanceSuite } from "../../src/domain/conformance/suite";
import { Capabilities } from "../../src/domain/packages/descriptor";
import { addBusinessDays } from "../../src/domain/packages/review";
import { canTransition, TRANSITIONS, VERSION_STATES } from "../../src/domain/packages/versionStates";
import { completeListing, weatherForecast } from "../helpers/descriptors";

/** A runtime whose probes answer as `answer` says; it records every probe. */
class ScriptedProber implements RuntimeProber {
  readonly probes: ProbeTarget[] = [];
  constructor(
    private readonly registration: RuntimeRegistration | null,
    private readonly answer: (target: ProbeTarget, n: number) => ProbeResult,
  ) {}
  async registrationFor() {
    return this.registration;
  }
  async probe(_runtime: RuntimeRegistration, target: ProbeTarget) {
    this.probes.push(target);
    return this.answer(target, this.probes.length);
  }
}

const runtime: RuntimeRegistration = {
  runtimeAppId: "rt_x",
  status: "active",
  endpointUrl: "https://runtime.acme.example",
  authProfile: { type: "api_key" },
};
const goodOutput = { location: "Berlin", days: [{ date: "2026-01-01", highC: 5, lowC: 1, condition: "snow" }] };
const fast = (): ProbeResult => ({ outcome: "ok", httpStatus: 200, latencyMs: 20, output: goodOutput });

function subject(
  overrides: {
    capabilities?: unknown[];
    riskTier?: string;
    pkg?: Record<string, unknown>;
    changelog?: string | null;
    hasOlderVersion?: boolean;
  } = {},
): ConformanceSubject {
  const listing = completeListing();
  return {
    appId: "app_x",
    package: { name: "Acme Weather", ...listing, ...(overrides.pkg ?? {}) } as ConformanceSubject["package"],
    version: {
      version: "1.0.0",
      riskTier: (overrides.riskTier ?? "data_only") as ConformanceSubject["version"]["riskTier"],
      changelog: overrides.changelog ?? null,
      capabilities: Capabilities.parse(overrides.capabilities ?? [weatherForecast()]),
      hasOlderVersion: overrides.hasOlderVersion ?? false,
    },
  };
}

const ruleIds = (report: { findings: { ruleId: string }[] }) => report.findings.map((f) => f.ruleId);

describe("conformance suite", () => {
  it("gives a complete, well-behaved data_only package 100 everywhere", async () => {
    const prober = new ScriptedProber(runtime, fast);
    const report = await runConformanceSuite(subject(), prober);
    expect(report.findings).toEqual([]);
    expect(report.dimensions).toEqual({ schema: 100, listing: 100, security: 100, reliability: 100, performance: 100, privacy: 100 });
    expect(report).toEqual(expect.objectContaining({ overall: 100, passed: true }));
    expect(prober.probes).toHaveLength(PROBES_PER_CAPABILITY);
    expect(prober.probes[0]).toEqual({ capabilityId: "weather_forecast", deadlineMs: 3000, input: { location: "Berlin", days: 3 } });
  });

  it("reports an invalid JSON Schema with the JSON path of the offending keyword", async () => {
    const bad = weatherForecast({ inputSchema: { type: "object", properties: { location: { type: "strin" } } } });
    const report = await runConformanceSuite(subject({ capabilities: [bad] }), new ScriptedProber(runtime, fast));
    const finding = report.findings.find((f) => f.ruleId === "schema.invalid_input_schema");
    expect(finding).toEqual({
      ruleId: "schema.invalid_input_schema",
      dimension: "schema",
      severity: "error",
      path: "$.version.capabilities[0].inputSchema.properties.location.type",
      message: expect.stringContaining("inputSchema is not a valid JSON Schema"),
    });
    expect(report.dimensions.schema).toBe(70);
    expect(report.passed).toBe(false); // an error blocks even though the overall score is above 80
    expect(report.overall).toBeGreaterThanOrEqual(80);
  });

  it.each([
    ["sample input that does not match", { sampleInput: { days: 3 } }, "schema.sample_input_invalid", "$.version.capabilities[0].sampleInput"],
    [
      "a draft-07 $schema",
      { outputSchema: { $schema: "http://json-schema.org/draft-07/schema#", type: "object" } },
      "schema.invalid_output_schema",
      "$.version.capabilities[0].outputSchema",
    ],
    [
      "an input schema that is not an object",
      { inputSchema: { type: "string" }, sampleInput: {} },
      "schema.input_not_object",
      "$.version.capabilities[0].inputSchema.type",
    ],
    [
      "an unconstrained output",
      { outputSchema: { description: "anything" } },
      "schema.output_unconstrained",
      "$.version.capabilities[0].outputSchema",
    ],
    ["a 30 s refresh", { refreshIntervalSeconds: 30 }, "schema.refresh_interval_too_short", "$.version.capabilities[0].refreshIntervalSeconds"],
    ["a 2 min refresh", { refreshIntervalSeconds: 120 }, "schema.refresh_interval_aggressive", "$.version.capabilities[0].refreshIntervalSeconds"],
    ["no data categories", { dataCategories: [] }, "privacy.data_categories_missing", "$.version.capabilities[0].dataCategories"],
    [
      "personal data on data_only",
      { dataCategories: ["location"], scopes: ["read:location"] },
      "privacy.category_exceeds_tier",
      "$.version.capabilities[0].dataCategories[0]",
    ],
    ["a malformed scope", { scopes: ["weather"] }, "security.scope_invalid", "$.version.capabilities[0].scopes[0]"],
    ["a read scope on data_only", { scopes: ["read:weather"] }, "security.scope_exceeds_tier", "$.version.capabilities[0].scopes[0]"],
    ["no description", { description: "" }, "listing.capability_description_missing", "$.version.capabilities[0].description"],
  ])("flags %s", async (_label, overrides, ruleId, path) => {
    const report = await runConformanceSuite(subject({ capabilities: [weatherForecast(overrides)] }), new ScriptedProber(runtime, fast));
    expect(report.findings).toContainEqual(expect.objectContaining({ ruleId, path, severity: RULES[ruleId as keyof typeof RULES].severity }));
  });

  it("flags duplicate capability and action ids", async () => {
    const action = { id: "refresh", name: "Refresh", inputSchema: { type: "object" }, scopes: ["write:forecast"] };
    const caps = [weatherForecast({ actions: [action, action] }), weatherForecast()];
    const report = await runConformanceSuite(
      subject({ capabilities: caps, riskTier: "write_actions", pkg: { privacyPolicyUrl: "https://acme.example/p" } }),
      new ScriptedProber(runtime, fast),
    );
    expect(report.findings).toContainEqual(
      expect.objectContaining({ ruleId: "schema.duplicate_capability_id", path: "$.version.capabilities[1].id" }),
    );
    expect(report.findings).toContainEqual(
      expect.objectContaining({ ruleId: "schema.duplicate_action_id", path: "$.version.capabilities[0].actions[1].id" }),
    );
  });

  it("holds actions and scopes to the risk tier", async () => {
    const action = { id: "create_task", name: "Create task", inputSchema: { type: "object" } };
    const caps = [weatherForecast({ actions: [action] })];
    const low = await runConformanceSuite(subject({ capabilities: caps, riskTier: "read_personal" }), new ScriptedProber(runtime, fast));
    expect(ruleIds(low)).toEqual(expect.arrayContaining(["security.actions_not_allowed", "security.action_scope_missing"]));
    const payments = weatherForecast({ actions: [{ ...action, scopes: ["payments:transfers"] }] });
    const high = await runConformanceSuite(subject({ capabilities: [payments], riskTier: "write_actions" }), new ScriptedProber(runtime, fast));
    expect(high.findings).toContainEqual(
      expect.objectContaining({ ruleId: "security.scope_exceeds_tier", path: "$.version.capabilities[0].actions[0].scopes[0]" }),
    );
  });

  it("asks read_personal packages for a privacy policy and read scopes, and notes an overstated tier", async () => {
    const personal = weatherForecast({ dataCategories: ["location"] });
    const report = await runConformanceSuite(
      subject({ capabilities: [personal], riskTier: "read_personal", pkg: { privacyPolicyUrl: null } }),
      new ScriptedProber(runtime, fast),
    );
    expect(ruleIds(report)).toEqual(expect.arrayContaining(["privacy.policy_url_missing", "security.read_scope_missing"]));
    const overstated = await runConformanceSuite(
      subject({ riskTier: "financial" }),
      new ScriptedProber({ ...runtime, authProfile: { type: "oauth2" } }, fast),
    );
    expect(overstated.findings).toContainEqual(expect.objectContaining({ ruleId: "privacy.tier_overstated", severity: "info" }));
    expect(overstated.dimensions.privacy).toBe(100); // info costs nothing
  });

  it("requires an oauth2 auth profile for financial packages and https endpoints", async () => {
    const weak = await runConformanceSuite(subject({ riskTier: "financial" }), new ScriptedProber(runtime, fast));
    expect(weak.findings).toContainEqual(expect.objectContaining({ ruleId: "security.auth_profile_too_weak", path: "$.runtime.authProfile.type" }));
    const plain = await runConformanceSuite(
      subject(),
      new ScriptedProber({ ...runtime, endpointUrl: "http://runtime.acme.example", authProfile: null }, fast),
    );
    expect(ruleIds(plain)).toEqual(expect.arrayContaining(["security.endpoint_not_https", "security.auth_profile_missing"]));
  });

  it("scores listing completeness", async () => {
    const report = await runConformanceSuite(
      subject({ pkg: { category: null, description: "Short.", images: { icon: null, screenshots: [] }, supportUrl: null }, hasOlderVersion: true }),
      new ScriptedProber(runtime, fast),
    );
    expect(ruleIds(report).filter((r) => r.startsWith("listing."))).toEqual([
      "listing.category_missing", // errors first, then by path
      "listing.description_too_short",
      "listing.icon_missing",
      "listing.screenshots_missing",
      "listing.support_url_missing",
      "listing.changelog_missing",
    ]);
    expect(report.dimensions.listing).toBe(100 - 30 - 5 * 10);
  });

  it("scores 0 for reliability and performance when no runtime is registered", async () => {
    const prober = new ScriptedProber(null, fast);
    const report = await runConformanceSuite(subject(), prober);
    expect(report.dimensions.reliability).toBe(0);
    expect(report.dimensions.performance).toBe(0);
    expect(report.findings).toContainEqual(
      expect.objectContaining({ ruleId: "reliability.runtime_not_registered", path: "$.runtime", severity: "error" }),
    );
    expect(report.passed).toBe(false);
    expect(prober.probes).toHaveLength(0);
    const paused = await runConformanceSuite(subject(), new ScriptedProber({ ...runtime, status: "paused" }, fast));
    expect(ruleIds(paused)).toContain("reliability.runtime_inactive");
  });

  it("counts each probe for reliability and reports each kind of failure once per capability", async () => {
    const outcomes: ProbeResult[] = [
      { outcome: "http_error", httpStatus: 500, latencyMs: 5 },
      { outcome: "timeout", httpStatus: null, latencyMs: 3000 },
      { outcome: "ok", httpStatus: 200, latencyMs: 10, output: { location: 42, days: [] } },
    ];
    const report = await runConformanceSuite(subject(), new ScriptedProber(runtime, (_t, n) => outcomes[n - 1]!));
    expect(report.dimensions.reliability).toBe(0);
    expect(report.findings.filter((f) => f.dimension === "reliability").map((f) => [f.ruleId, f.message])).toEqual([
      ["reliability.probe_failed", "1 of 3 probes of 'weather_forecast': HTTP 500"],
      ["reliability.probe_timeout", "1 of 3 probes of 'weather_forecast': no answer within 3000 ms"],
      ["reliability.output_invalid", expect.stringContaining("1 of 3 probes of 'weather_forecast': /location must be string")],
    ]);
    expect(report.findings).toContainEqual(expect.objectContaining({ ruleId: "performance.not_measured" }));

    const partly = await runConformanceSuite(subject(), new ScriptedProber(runtime, (_t, n) => (n === 1 ? outcomes[0]! : fast())));
    expect(partly.dimensions.reliability).toBe(67);
  });

  it.each([
    [100, 100],
    [299, 100],
    [600, 90],
    [1200, 70],
    [2900, 50],
  ])("bands a median latency of %i ms against a 3000 ms deadline as %i", async (latencyMs, score) => {
    const report = await runConformanceSuite(subject(), new ScriptedProber(runtime, () => ({ ...fast(), latencyMs })));
    expect(report.dimensions.performance).toBe(score);
    expect(ruleIds(report).includes("performance.slow")).toBe(latencyMs > 750);
  });

  it("gives the same report for the same input, however latencies vary within a band", async () => {
    const bad = weatherForecast({ description: "", refreshIntervalSeconds: 120 });
    const jitter = () => ({ ...fast(), latencyMs: 5 + Math.random() * 200 });
    const a = await runConformanceSuite(subject({ capabilities: [bad, weatherForecast({ id: "other" })] }), new ScriptedProber(runtime, jitter));
    const b = await runConformanceSuite(subject({ capabilities: [bad, weatherForecast({ id: "other" })] }), new ScriptedProber(runtime, jitter));
    const stable = (r: typeof a) => ({ overall: r.overall, passed: r.passed, dimensions: r.dimensions, findings: r.findings });
    expect(stable(a)).toEqual(stable(b));
  });
});

describe("JSON Schema checks", () => {
  it("answers a schema of another draft with a problem instead of throwing", () => {
    expect(jsonSchemaProblem({ $schema: "http://json-schema.org/draft-07/schema#", type: "object" })).toMatch(
      /^Not a usable JSON Schema: .*only draft 2020-12 is supported/,
    );
  });

  it("compiles schemas sharing an $id one after another (nothing stays cached)", () => {
    const a = compileJsonSchema({ $id: "https://acme.example/forecast", type: "object", required: ["a"] });
    const b = compileJsonSchema({ $id: "https://acme.example/forecast", type: "object", required: ["b"] });
    expect(a.ok && b.ok).toBe(true);
    if (a.ok && b.ok) {
      expect(a.validate({ a: 1 })).toBe(true);
      expect(b.validate({ a: 1 })).toBe(false);
    }
  });
});

describe("docs/conformance.md", () => {
  const doc = readFileSync(join(__dirname, "../../../docs/conformance.md"), "utf8");
  it.each(Object.entries(RULES))("documents %s with its dimension and severity", (id, rule) => {
    // Cells are compared trimmed: Prettier pads table columns.
    const row = doc
      .split("\n")
      .map((line) => line.split("|").map((cell) => cell.trim()))
      .find((cells) => cells[1] === `\`${id}\``);
    expect(row).toBeDefined();
    expect(row).toContain(rule.dimension);
    expect(row).toContain(rule.severity);
  });
});

describe("version state machine", () => {
  it("lets rejected and deprecated versions go nowhere", () => {
    expect(TRANSITIONS.rejected).toEqual([]);
    expect(TRANSITIONS.deprecated).toEqual([]);
  });

  it("never skips validation, submission or review", () => {
    for (const from of VERSION_STATES) {
      expect(canTransition(from, "submitted")).toBe(from === "validated");
      expect(canTransition(from, "validated")).toBe(from === "validating");
      expect(canTransition(from, "approved")).toBe(from === "submitted" || from === "in_review");
      expect(canTransition(from, "published")).toBe(from === "approved" || from === "superseded");
    }
  });

  it("only changes a version's content before submission", () => {
    const reachableFromSubmitted = new Set<string>();
    const visit = (s: (typeof VERSION_STATES)[number]) => {
      for (const next of TRANSITIONS[s]) {
        if (reachableFromSubmitted.has(next)) continue;
        reachableFromSubmitted.add(next);
        visit(next);
      }
    };
    visit("submitted");
    expect([...reachableFromSubmitted].filter((s) => ["draft", "validating", "validated"].includes(s))).toEqual([]);
  });
});

describe("expected review time", () => {
  it("counts business days only", () => {
    const friday = new Date("2026-11-27T23:59:59.999Z");
    expect(addBusinessDays(friday, 1).toISOString()).toBe("2026-11-30T23:59:59.999Z"); // Monday
    expect(addBusinessDays(friday, 3).toISOString()).toBe("2026-12-02T23:59:59.999Z");
    const saturday = new Date("2026-11-28T23:59:59.999Z");
    expect(addBusinessDays(saturday, 1).toISOString()).toBe("2026-11-30T23:59:59.999Z");
  });
});

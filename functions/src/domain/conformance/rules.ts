import { z } from "zod";

/**
 * Every rule of the conformance suite and of the automated policy checks. docs/conformance.md has
 * one row per rule (a unit test keeps the two in step). Severity decides what a finding does:
 * `error` blocks (a run with an error fails whatever its score), `warning` costs points in the
 * rule-scored dimensions, `info` costs nothing.
 */
export const DIMENSIONS = ["schema", "listing", "security", "reliability", "performance", "privacy"] as const;
export const Dimension = z.enum(DIMENSIONS).meta({ id: "ConformanceDimension" });
export type Dimension = z.infer<typeof Dimension>;

const SEVERITIES = ["error", "warning", "info"] as const;
const Severity = z.enum(SEVERITIES).meta({ id: "FindingSeverity" });
type Severity = z.infer<typeof Severity>;

export interface Rule {
  dimension: Dimension | "policy";
  severity: Severity;
  /** What the rule checks. */
  checks: string;
}

export const RULES = {
  // ---------- schema validity ----------
  "schema.invalid_input_schema": {
    dimension: "schema",
    severity: "error",
    checks: "inputSchema is a valid JSON Schema (draft 2020-12) whose $refs resolve.",
  },
  "schema.invalid_output_schema": {
    dimension: "schema",
    severity: "error",
    checks: "outputSchema is a valid JSON Schema (draft 2020-12) whose $refs resolve.",
  },
  "schema.invalid_action_schema": {
    dimension: "schema",
    severity: "error",
    checks: "Each action's inputSchema is a valid JSON Schema (draft 2020-12).",
  },
  "schema.input_not_object": {
    dimension: "schema",
    severity: "warning",
    checks: 'inputSchema describes an object (`type: "object"`): invocations pass named parameters.',
  },
  "schema.output_unconstrained": {
    dimension: "schema",
    severity: "warning",
    checks: "outputSchema constrains something (a `type`, `properties`, `$ref` or combinator), so answers can be checked.",
  },
  "schema.duplicate_capability_id": { dimension: "schema", severity: "error", checks: "Capability ids are unique within the version." },
  "schema.duplicate_action_id": { dimension: "schema", severity: "error", checks: "Action ids are unique within their capability." },
  "schema.sample_input_invalid": {
    dimension: "schema",
    severity: "error",
    checks: "sampleInput (default `{}`) validates against inputSchema, so the capability can be probed.",
  },
  "schema.refresh_interval_too_short": { dimension: "schema", severity: "error", checks: "refreshIntervalSeconds is 0 (on demand) or at least 60." },
  "schema.refresh_interval_aggressive": {
    dimension: "schema",
    severity: "warning",
    checks: "refreshIntervalSeconds is 0 or at least 300 (shorter intervals drain users' quotas).",
  },

  // ---------- metadata and listing completeness ----------
  "listing.category_missing": { dimension: "listing", severity: "error", checks: "The package has a catalog category." },
  "listing.description_too_short": { dimension: "listing", severity: "warning", checks: "The package description has at least 50 characters." },
  "listing.icon_missing": { dimension: "listing", severity: "warning", checks: "The package has an icon URL (images.icon)." },
  "listing.screenshots_missing": {
    dimension: "listing",
    severity: "warning",
    checks: "The package has at least one screenshot URL (images.screenshots).",
  },
  "listing.support_url_missing": { dimension: "listing", severity: "warning", checks: "The package has a support URL." },
  "listing.capability_description_missing": { dimension: "listing", severity: "warning", checks: "Every capability has a description." },
  "listing.changelog_missing": { dimension: "listing", severity: "warning", checks: "A version after the package's first has a changelog." },

  // ---------- security ----------
  "security.auth_profile_missing": {
    dimension: "security",
    severity: "error",
    checks: "The runtime app bound to the package's app has an auth profile.",
  },
  "security.auth_profile_too_weak": { dimension: "security", severity: "error", checks: "`financial` packages use an OAuth 2.0 auth profile." },
  "security.endpoint_not_https": {
    dimension: "security",
    severity: "error",
    checks: "The runtime endpoint uses https (http to a loopback address is accepted on the emulators only).",
  },
  "security.endpoint_loopback": {
    dimension: "security",
    severity: "info",
    checks: "Notes a loopback runtime endpoint (accepted on the emulators only).",
  },
  "security.scope_invalid": {
    dimension: "security",
    severity: "error",
    checks: "Every scope is `read:`, `write:` or `payments:` followed by a resource name.",
  },
  "security.scope_exceeds_tier": {
    dimension: "security",
    severity: "error",
    checks: "No scope needs a higher risk tier than the version's (read → read_personal, write → write_actions, payments → financial).",
  },
  "security.actions_not_allowed": {
    dimension: "security",
    severity: "error",
    checks: "Only `write_actions` and `financial` versions declare actions.",
  },
  "security.action_scope_missing": { dimension: "security", severity: "error", checks: "Every action declares a `write:` or `payments:` scope." },
  "security.read_scope_missing": {
    dimension: "security",
    severity: "warning",
    checks: "A capability handling personal data declares the `read:` scopes it needs.",
  },

  // ---------- reliability ----------
  "reliability.runtime_not_registered": {
    dimension: "reliability",
    severity: "error",
    checks: "A runtime app is registered for the package's app, so its capabilities can be probed.",
  },
  "reliability.runtime_inactive": { dimension: "reliability", severity: "error", checks: "The runtime app is active." },
  "reliability.probe_failed": {
    dimension: "reliability",
    severity: "error",
    checks: "Each probe of a capability answers 2xx (no network error, no error status).",
  },
  "reliability.probe_timeout": { dimension: "reliability", severity: "error", checks: "Each probe answers within the capability's deadlineMs." },
  "reliability.response_not_json": { dimension: "reliability", severity: "error", checks: "Each probe's answer is JSON." },
  "reliability.output_invalid": {
    dimension: "reliability",
    severity: "error",
    checks: "Each probe's answer validates against the capability's outputSchema.",
  },

  // ---------- performance ----------
  "performance.slow": { dimension: "performance", severity: "warning", checks: "A capability's median probe latency is within 25% of its deadline." },
  "performance.not_measured": {
    dimension: "performance",
    severity: "info",
    checks: "Notes a capability with no successful probe: its latency could not be measured (scored 0).",
  },

  // ---------- privacy and policy ----------
  "privacy.data_categories_missing": {
    dimension: "privacy",
    severity: "error",
    checks: "Every capability declares its data categories (`public` for public data).",
  },
  "privacy.category_exceeds_tier": {
    dimension: "privacy",
    severity: "error",
    checks: "No data category needs a higher risk tier than the version's (personal data → read_personal, financial → financial).",
  },
  "privacy.tier_overstated": {
    dimension: "privacy",
    severity: "info",
    checks: "Notes a risk tier higher than the declared data, scopes and actions need (higher tiers get manual review).",
  },
  "privacy.policy_url_missing": { dimension: "privacy", severity: "error", checks: "A package above `data_only` has a privacy policy URL." },

  // ---------- automated policy checks (on submission) ----------
  "policy.account_inactive": { dimension: "policy", severity: "error", checks: "The provider account is active (verified, not suspended)." },
  "policy.app_missing": { dimension: "policy", severity: "error", checks: "The package's app still exists (the package is not orphaned)." },
  "policy.reserved_term": {
    dimension: "policy",
    severity: "error",
    checks: "The name and slug use no reserved term (aiffinity, official, verified, admin, system).",
  },
  "policy.prohibited_content": {
    dimension: "policy",
    severity: "error",
    checks: "The listing and capabilities mention no prohibited content (gambling, adult content, weapons, drugs).",
  },
} as const satisfies Record<string, Rule>;

export type RuleId = keyof typeof RULES;

export const Finding = z
  .object({
    ruleId: z.string().meta({ example: "schema.invalid_input_schema" }),
    dimension: z.enum([...DIMENSIONS, "policy"]),
    severity: Severity,
    path: z.string().meta({
      description: "JSON path into the validated subject: `$.package`, `$.version` or `$.runtime`.",
      example: "$.version.capabilities[0].inputSchema.properties.city.type",
    }),
    message: z.string(),
  })
  .meta({ id: "Finding" });
export type Finding = z.infer<typeof Finding>;

export const finding = (ruleId: RuleId, path: string, message: string): Finding => ({
  ruleId,
  dimension: RULES[ruleId].dimension,
  severity: RULES[ruleId].severity,
  path,
  message,
});

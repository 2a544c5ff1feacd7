import { z } from "zod";

/**
 * The capability descriptor and the risk model (documented in docs/packages.md). Requests are
 * checked here for shape only: types, lengths and known values. Whether a descriptor is *good*
 * (valid JSON Schemas, scopes matching the risk tier...) is the conformance suite's job, which
 * answers with findings a provider can act on instead of a bare 400.
 */

/** Ordered from least to most sensitive; a tier allows everything the tiers before it allow. */
export const RISK_TIERS = ["data_only", "read_personal", "write_actions", "financial"] as const;
export const RiskTier = z.enum(RISK_TIERS).meta({
  id: "RiskTier",
  description:
    "`data_only`: public data, no user data, no actions. `read_personal`: reads the user's personal data. " +
    "`write_actions`: acts on the user's behalf (declared actions). `financial`: touches money or financial data.",
});
export type RiskTier = z.infer<typeof RiskTier>;
export const tierRank = (tier: RiskTier) => RISK_TIERS.indexOf(tier);

/** Kinds of data a capability handles, each with the lowest risk tier allowed to handle it. */
export const DATA_CATEGORY_MIN_TIER = {
  public: "data_only",
  location: "read_personal",
  calendar: "read_personal",
  contacts: "read_personal",
  messages: "read_personal",
  health: "read_personal",
  activity: "read_personal",
  files: "read_personal",
  identity: "read_personal",
  financial: "financial",
} as const satisfies Record<string, RiskTier>;
export type DataCategory = keyof typeof DATA_CATEGORY_MIN_TIER;
const DATA_CATEGORIES = Object.keys(DATA_CATEGORY_MIN_TIER) as [DataCategory, ...DataCategory[]];

/** Scopes are `<verb>:<resource>`; the verb sets the lowest tier that may request the scope. */
export const SCOPE_PATTERN = /^(read|write|payments):[a-z][a-z0-9_.-]{0,62}$/;
export const SCOPE_VERB_MIN_TIER = { read: "read_personal", write: "write_actions", payments: "financial" } as const satisfies Record<
  string,
  RiskTier
>;

/** Catalog categories a package is listed under. */
export const CATEGORIES = [
  "productivity",
  "weather",
  "news",
  "finance",
  "health_fitness",
  "travel",
  "food_drink",
  "entertainment",
  "shopping",
  "education",
  "lifestyle",
  "social",
  "sports",
  "utilities",
] as const;
export const Category = z.enum(CATEGORIES).meta({ id: "PackageCategory", description: "Catalog category the package is listed under." });
export type Category = z.infer<typeof Category>;

const identifier = z
  .string()
  .min(2)
  .max(64)
  .regex(/^[a-z][a-z0-9_]*(?:[.-][a-z0-9_]+)*$/, "Must start with a lowercase letter and use lowercase letters, digits, '_', '.' or '-'");

const JsonSchemaDocument = z.record(z.string(), z.unknown()).meta({
  description: "A JSON Schema (draft 2020-12) document, as an object.",
  example: { type: "object", properties: { city: { type: "string" } } },
});

const MIN_DEADLINE_MS = 100;
const MAX_DEADLINE_MS = 10_000;
const DEFAULT_DEADLINE_MS = 5_000;

export const ActionDescriptor = z
  .strictObject({
    id: identifier.meta({ example: "create_task" }),
    name: z.string().trim().min(1).max(80),
    description: z.string().trim().max(500).default(""),
    inputSchema: JsonSchemaDocument,
    scopes: z.array(z.string().max(100)).max(10).default([]).meta({ description: "Scopes the action needs, e.g. `write:tasks`." }),
  })
  .meta({ id: "ActionDescriptor" });
export type ActionDescriptor = z.output<typeof ActionDescriptor>;

export const CapabilityDescriptor = z
  .strictObject({
    id: identifier.meta({ example: "hourly_forecast" }),
    name: z.string().trim().min(1).max(80).meta({ example: "Hourly forecast" }),
    description: z.string().trim().max(1000).default(""),
    inputSchema: JsonSchemaDocument.meta({ description: "JSON Schema of the invocation input (an object)." }),
    outputSchema: JsonSchemaDocument.meta({ description: "JSON Schema of what the runtime answers." }),
    refreshIntervalSeconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 86_400)
      .meta({ description: "How often installed widgets refresh, in seconds; 0 means on demand only." }),
    deadlineMs: z
      .number()
      .int()
      .min(MIN_DEADLINE_MS)
      .max(MAX_DEADLINE_MS)
      .default(DEFAULT_DEADLINE_MS)
      .meta({ description: "How long the runtime may take to answer an invocation (the conformance probes hold it to this)." }),
    sampleInput: z
      .record(z.string(), z.unknown())
      .default({})
      .meta({ description: "A valid input, used by the conformance suite to probe the capability." }),
    actions: z.array(ActionDescriptor).max(20).default([]),
    dataCategories: z.array(z.enum(DATA_CATEGORIES)).max(DATA_CATEGORIES.length).default([]),
    scopes: z.array(z.string().max(100)).max(20).default([]).meta({ description: "Scopes the capability needs, e.g. `read:calendar`." }),
  })
  .meta({ id: "CapabilityDescriptor" });
export type CapabilityDescriptor = z.output<typeof CapabilityDescriptor>;

/** At most 20, so that a run's probes (3 per capability, 5 capabilities at a time, 10 s deadlines at most) fit the runner's timeout. */
export const Capabilities = z.array(CapabilityDescriptor).min(1).max(20);

/** `MAJOR.MINOR.PATCH`; pre-release and build suffixes are not used in the catalog. */
export const SemVer = z
  .string()
  .regex(/^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/, "Must be a semantic version MAJOR.MINOR.PATCH, e.g. 1.2.0")
  .meta({ example: "1.0.0" });

const parts = (v: string) => v.split(".").map(Number) as [number, number, number];

export function compareSemVer(a: string, b: string): number {
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

/** The version after `latest` when none is given: the next minor. */
export const nextMinor = (latest: string) => {
  const [major, minor] = parts(latest);
  return `${major}.${minor + 1}.0`;
};

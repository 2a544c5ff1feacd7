import { ENUMS } from "@aiffinity/sdk";
import { z } from "zod";

/**
 * The integration manifest (`aiffinity.json` or `aiffinity.yaml`): the single source of a
 * provider's integration. The CLI derives from it the package (listing and versioned capability
 * descriptors) and the runtime app (endpoint, auth profile, capability template, webhook profile).
 * Its rules are the strictest of the API objects it feeds, so a manifest that passes here is
 * accepted by every endpoint `publish` calls. Enumerations come from the API's OpenAPI document
 * (through the SDK), so they follow the API. The published JSON Schema is generated from this.
 */

export const SCHEMA_URL = "https://api.aiffinity.me/schemas/aiffinity.schema.json";

const text = (min: number, max: number) => z.string().trim().min(min).max(max);

export const EnvRef = z
  .strictObject({
    env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "Must be an environment variable name")
      .meta({ description: "The environment variable holding the value (a `.env` file next to the manifest is read too)." }),
  })
  .meta({ id: "EnvRef", description: "A secret, by reference: never write secret values in the manifest." });

const absoluteUrl = z.url({ protocol: /^https?$/ }).max(2048);
const UrlOrEnv = z.union([
  absoluteUrl,
  z.strictObject({ env: EnvRef.shape.env, default: absoluteUrl.optional().meta({ description: "Used when the variable is not set." }) }),
]);
/** An absolute URL, or a path resolved against runtime.endpointUrl (served by your runtime). */
const UrlOrPath = z.union([absoluteUrl, z.string().regex(/^\/[^\s]*$/, "Must be an absolute URL or a path starting with /").max(512)]);

const JsonSchemaObject = z
  .record(z.string(), z.unknown())
  .meta({ description: "A JSON Schema (draft 2020-12), self-contained (no remote $ref).", additionalProperties: true });

const IDENTIFIER = /^[a-z][a-z0-9_]{1,62}$/;
const identifier = z.string().regex(IDENTIFIER, "2–63 characters: a lowercase letter, then lowercase letters, digits or _");

const scope = z.string().max(100).meta({ description: "`read:<resource>`, `write:<resource>` or `payments:<resource>`." });

export const ActionManifest = z
  .strictObject({
    id: identifier.meta({ description: "The action's id: the runtime serves it at POST /capabilities/{capability}/actions/{id}.", example: "create_task" }),
    name: text(1, 80),
    description: text(1, 500),
    inputSchema: JsonSchemaObject.meta({ description: "JSON Schema of the action's input." }),
    outputSchema: JsonSchemaObject.optional().meta({ description: "JSON Schema of the action's result (the runtime SDK checks results against it)." }),
    scopes: z.array(scope).max(10).optional().meta({ description: "Scopes the action needs, e.g. `write:tasks`." }),
  })
  .meta({ id: "ActionManifest" });

export const CapabilityManifest = z
  .strictObject({
    id: identifier.meta({ description: "The capability's id: public as `<package slug>.<id>`; the runtime serves it at POST /capabilities/{id}/invoke.", example: "weather_forecast" }),
    name: text(1, 80).meta({ description: "Shown to users." }),
    description: text(1, 500).meta({ description: "Shown to users when they install." }),
    inputSchema: JsonSchemaObject.optional().meta({ description: "JSON Schema of the invocation's parameters (an object). Default: an object with any properties." }),
    outputSchema: JsonSchemaObject.meta({ description: "JSON Schema of the answer's `data`." }),
    refreshIntervalSeconds: z.number().int().min(60).max(86_400).meta({ description: "How often installed widgets refresh, 60 s to 24 h (300 or more recommended)." }),
    deadlineMs: z.number().int().min(100).max(10_000).optional().meta({ description: "How long the runtime may take to answer (default 5000)." }),
    sampleInput: z.record(z.string(), z.unknown()).optional().meta({ description: "A valid input; the conformance suite probes the capability with it (default {})." }),
    dataCategories: z.array(z.enum(ENUMS.dataCategories)).optional().meta({ description: "The kinds of data handled (`public` for public data)." }),
    scopes: z.array(scope).max(20).optional().meta({ description: "Scopes the capability needs, e.g. `read:calendar`." }),
    surfaces: z.array(z.enum(ENUMS.surfaces)).min(1).optional().meta({ description: "Where the capability may appear (default [\"widget\"])." }),
    summary: text(1, 280).optional().meta({ description: "One line shown to users." }),
    priority: z.enum(ENUMS.priorities).optional().meta({ description: "Ranking hint (default normal)." }),
    notes: text(0, 1000).optional().meta({ description: "Guidance for how the platform presents the data." }),
    actions: z.array(ActionManifest).max(20).optional().meta({ description: "Actions users can trigger (write_actions and financial packages only)." }),
  })
  .meta({ id: "CapabilityManifest" });

export const AuthManifest = z
  .discriminatedUnion("type", [
    z.strictObject({
      type: z.literal("api_key").meta({ description: "Aiffinity sends `<headerName>: <value>`." }),
      headerName: z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "Must be an HTTP header name").max(64),
      value: EnvRef,
    }),
    z.strictObject({
      type: z.literal("oauth2").meta({ description: "Aiffinity gets a Bearer token from tokenUrl (client credentials)." }),
      tokenUrl: UrlOrPath.meta({ description: "Your token endpoint; a path (e.g. /oauth/token) is served by your runtime (the runtime SDK issues tokens there)." }),
      clientId: text(1, 512),
      clientSecret: EnvRef,
      scope: z.string().min(1).max(1024).optional(),
      tokenEndpointAuthMethod: z.enum(ENUMS.tokenEndpointAuthMethods).optional(),
    }),
    z.strictObject({
      type: z.literal("custom").meta({ description: "Header templates with {{secret.NAME}}, {{timestamp}} and {{requestId}}." }),
      headers: z.record(z.string(), z.string().min(1).max(4096)),
      secrets: z.record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]{0,31}$/), EnvRef).optional(),
    }),
  ])
  .meta({ id: "AuthManifest", description: "How Aiffinity authenticates to your runtime (docs/provider-runtime.md)." });

export const Manifest = z
  .strictObject({
    $schema: z.string().optional().meta({ description: "For editors: the URL of this JSON Schema." }),
    package: z
      .strictObject({
        slug: z
          .string()
          .min(3)
          .max(64)
          .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, "Lowercase letters and digits separated by single hyphens")
          .meta({ description: "Unique across the platform; cannot change once created. Identifies the package on every publish.", example: "acme-weather" }),
        name: text(1, 80),
        description: text(1, 4000).meta({ description: "The listing rules want at least 50 characters." }),
        category: z.enum(ENUMS.categories).optional().meta({ description: "Catalog category (needed to pass validation)." }),
        riskTier: z.enum(ENUMS.riskTiers).meta({ description: "What the capabilities may do (docs/packages.md#risk-tiers). data_only packages are listed without manual review." }),
        version: z
          .string()
          .regex(/^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/, "Must be MAJOR.MINOR.PATCH, e.g. 1.2.0")
          .meta({ description: "The version `publish` creates or updates; submitted versions are immutable, so bump it to change capabilities.", example: "1.0.0" }),
        changelog: text(1, 5000).optional(),
        images: z
          .strictObject({ icon: absoluteUrl.optional(), screenshots: z.array(absoluteUrl).max(8).optional() })
          .optional()
          .meta({ description: "https URLs: an icon and up to 8 screenshots." }),
        privacyPolicyUrl: absoluteUrl.optional().meta({ description: "Required above data_only." }),
        supportUrl: absoluteUrl.optional(),
      })
      .meta({ description: "The catalog listing and the version to publish." }),
    app: z
      .strictObject({ name: text(1, 80), description: text(0, 1000).optional() })
      .optional()
      .meta({ description: "The console app (OAuth client) that owns the package and its runtime. Default name: the package's name. Found by name, created when missing." }),
    runtime: z
      .strictObject({
        endpointUrl: UrlOrEnv.meta({ description: "Your runtime's base URL (https; http://127.0.0.1 on the local emulators), or {\"env\": ..., \"default\": ...}." }),
        displayName: text(1, 80).optional(),
        auth: AuthManifest,
        signingSecret: EnvRef.optional().meta({
          description: "A whsec_ secret of yours: Aiffinity signs every request and webhook with it (set on the first publish). Without it the first webhook profile generates one, printed once.",
        }),
      })
      .meta({ description: "Where and how Aiffinity calls your runtime." }),
    capabilities: z.array(CapabilityManifest).min(1).max(20),
    webhooks: z
      .strictObject({
        url: z.union([UrlOrPath, UrlOrEnv]).meta({ description: "Where deliveries go; a path is resolved against runtime.endpointUrl." }),
        events: z.array(z.enum(ENUMS.webhookEvents)).min(1).meta({ description: "Event types (docs/webhooks.md), or [\"*\"]." }),
        retryPolicy: z
          .strictObject({
            maxAttempts: z.number().int().min(1).max(12).optional(),
            initialDelaySeconds: z.number().int().min(1).max(3600).optional(),
            maxDelaySeconds: z.number().int().min(1).max(86_400).optional(),
          })
          .optional(),
      })
      .optional()
      .meta({ description: "Webhook deliveries to your service (docs/webhooks.md)." }),
  })
  .superRefine((manifest, ctx) => {
    const seen = new Set<string>();
    manifest.capabilities.forEach((capability, i) => {
      if (seen.has(capability.id)) ctx.addIssue({ code: "custom", path: ["capabilities", i, "id"], message: `Duplicate capability id '${capability.id}'` });
      seen.add(capability.id);
      const actions = new Set<string>();
      (capability.actions ?? []).forEach((action, j) => {
        if (actions.has(action.id)) ctx.addIssue({ code: "custom", path: ["capabilities", i, "actions", j, "id"], message: `Duplicate action id '${action.id}'` });
        actions.add(action.id);
      });
    });
  })
  .meta({ title: "Aiffinity integration manifest", description: "aiffinity.json: your package, capabilities, runtime and webhooks, published with `aiffinity publish` (docs/cli.md)." });

export type Manifest = z.output<typeof Manifest>;
export type CapabilityManifest = z.output<typeof CapabilityManifest>;
export type AuthManifest = z.output<typeof AuthManifest>;
export type EnvRef = z.output<typeof EnvRef>;

/** The JSON Schema editors use for completion and checks (published with the CLI and at SCHEMA_URL). */
export function manifestJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(Manifest, { target: "draft-2020-12", io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  return { $schema: "https://json-schema.org/draft/2020-12/schema", $id: SCHEMA_URL, ...schema };
}

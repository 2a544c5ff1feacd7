import type { PathsFor, RequestBody } from "@aiffinity/sdk";
import type { Manifest, EnvRef } from "./schema.js";
import { formatPath, type LoadedManifest, ManifestProblems, type Problem, type Segment } from "./load.js";

/**
 * Everything `publish` sends, derived from the one manifest: the runtime's capability template and
 * the package version's capability descriptors come from the same `capabilities` entries (docs/cli.md
 * explains why the API keeps both). Secrets are read from the environment here, and only here.
 */

type Put<P extends string> = P extends PathsFor<"put"> ? RequestBody<P, "put"> : never;

export type CapabilityDescriptor = RequestBody<"/v1/providers/packages/manage", "post">["capabilities"][number];
export type TemplateBody = Put<"/v1/providers/runtime/apps/{id}/capability-template">;
export type AuthProfileBody = Put<"/v1/providers/runtime/apps/{id}/auth-profile">;
export type WebhookProfileBody = Put<"/v1/providers/runtime/apps/{id}/webhook-profile">;

export interface Listing {
  name: string;
  description: string;
  category: string | null;
  images: { icon: string | null; screenshots: string[] };
  privacyPolicyUrl: string | null;
  supportUrl: string | null;
}

export interface VersionContent {
  version: string;
  riskTier: string;
  changelog: string | null;
  capabilities: CapabilityDescriptor[];
}

export interface Derived {
  /** `managed`: the manifest has an `app` section, so the app's name and description follow it. */
  app: { name: string; description: string | undefined; managed: boolean };
  runtime: { endpointUrl: string; displayName: string | undefined };
  authProfile: AuthProfileBody;
  signingSecret: string | null;
  template: TemplateBody;
  webhookProfile: WebhookProfileBody | null;
  slug: string;
  listing: Listing;
  version: VersionContent;
}

/** Descriptor fields with the API's defaults filled in, so a manifest compares equal to what the API stored. */
export function descriptorsOf(manifest: Manifest): CapabilityDescriptor[] {
  return manifest.capabilities.map((c) => ({
    id: c.id,
    name: c.name,
    description: c.description,
    inputSchema: c.inputSchema ?? { type: "object" },
    outputSchema: c.outputSchema,
    refreshIntervalSeconds: c.refreshIntervalSeconds,
    deadlineMs: c.deadlineMs ?? 5000,
    sampleInput: c.sampleInput ?? {},
    actions: (c.actions ?? []).map((a) => ({ id: a.id, name: a.name, description: a.description, inputSchema: a.inputSchema, scopes: a.scopes ?? [] })),
    dataCategories: c.dataCategories ?? [],
    scopes: c.scopes ?? [],
  })) as CapabilityDescriptor[];
}

/** The runtime app's capability template: what the running service serves and how to present it. */
export function templateOf(manifest: Manifest): TemplateBody {
  return {
    capabilities: manifest.capabilities.map((c) => ({
      name: c.id,
      description: c.description,
      ...(c.inputSchema ? { inputSchema: c.inputSchema } : {}),
      outputSchema: c.outputSchema,
      refreshIntervalSeconds: c.refreshIntervalSeconds,
      ...(c.actions?.length
        ? { actions: c.actions.map((a) => ({ name: a.id, description: a.description, inputSchema: a.inputSchema, ...(a.outputSchema ? { outputSchema: a.outputSchema } : {}) })) }
        : {}),
      surfaceGuidance: {
        surfaces: c.surfaces ?? ["widget"],
        ...(c.summary ? { summary: c.summary } : {}),
        ...(c.priority ? { priority: c.priority } : {}),
        ...(c.notes ? { notes: c.notes } : {}),
      },
    })),
  } as TemplateBody;
}

export function listingOf(manifest: Manifest): Listing {
  const p = manifest.package;
  return {
    name: p.name,
    description: p.description,
    category: p.category ?? null,
    images: { icon: p.images?.icon ?? null, screenshots: p.images?.screenshots ?? [] },
    privacyPolicyUrl: p.privacyPolicyUrl ?? null,
    supportUrl: p.supportUrl ?? null,
  };
}

/** Reads the manifest's references to the environment; a missing variable is a problem at its line. */
export function derive(loaded: LoadedManifest): Derived {
  const { manifest, env } = loaded;
  const problems: Problem[] = [];
  const secret = (ref: EnvRef, path: Segment[]): string => {
    const value = env[ref.env];
    if (value === undefined || value === "") {
      problems.push({ path: formatPath(path), message: `Environment variable ${ref.env} is not set (nor in .env next to the manifest)`, position: loaded.locate(path) });
      return "";
    }
    return value;
  };
  const url = (value: string | { env: string; default?: string | undefined }, path: Segment[]): string => {
    if (typeof value === "string") return value;
    const found = env[value.env] || value.default;
    if (!found) problems.push({ path: formatPath(path), message: `Environment variable ${value.env} is not set and there is no default`, position: loaded.locate(path) });
    return found ?? "";
  };
  const endpointUrl = url(manifest.runtime.endpointUrl, ["runtime", "endpointUrl"]).replace(/\/+$/, "");
  const againstEndpoint = (value: string) => (value.startsWith("/") ? `${endpointUrl}${value}` : value);

  const auth = manifest.runtime.auth;
  let authProfile: AuthProfileBody;
  switch (auth.type) {
    case "api_key":
      authProfile = { type: "api_key", headerName: auth.headerName, value: secret(auth.value, ["runtime", "auth", "value"]) };
      break;
    case "oauth2":
      authProfile = {
        type: "oauth2",
        tokenUrl: againstEndpoint(auth.tokenUrl),
        clientId: auth.clientId,
        clientSecret: secret(auth.clientSecret, ["runtime", "auth", "clientSecret"]),
        ...(auth.scope ? { scope: auth.scope } : {}),
        ...(auth.tokenEndpointAuthMethod ? { tokenEndpointAuthMethod: auth.tokenEndpointAuthMethod } : {}),
      };
      break;
    case "custom":
      authProfile = {
        type: "custom",
        headers: auth.headers,
        ...(auth.secrets ? { secrets: Object.fromEntries(Object.entries(auth.secrets).map(([name, ref]) => [name, secret(ref, ["runtime", "auth", "secrets", name])])) } : {}),
      };
      break;
  }
  const signingSecret = manifest.runtime.signingSecret ? secret(manifest.runtime.signingSecret, ["runtime", "signingSecret"]) : null;
  if (signingSecret !== null && signingSecret && !/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(signingSecret)) {
    problems.push({ path: "$.runtime.signingSecret", message: `${manifest.runtime.signingSecret!.env} must be a whsec_ secret (whsec_ + 24–64 random bytes in base64)`, position: loaded.locate(["runtime", "signingSecret"]) });
  }

  let webhookProfile: WebhookProfileBody | null = null;
  if (manifest.webhooks) {
    const w = manifest.webhooks;
    webhookProfile = {
      url: typeof w.url === "string" ? againstEndpoint(w.url) : url(w.url, ["webhooks", "url"]),
      events: w.events,
      ...(w.retryPolicy ? { retryPolicy: w.retryPolicy } : {}),
    } as WebhookProfileBody;
  }
  if (problems.length) throw new ManifestProblems(loaded.display, problems);

  return {
    app: { name: manifest.app?.name ?? manifest.package.name, description: manifest.app?.description, managed: manifest.app !== undefined },
    runtime: { endpointUrl, displayName: manifest.runtime.displayName },
    authProfile,
    signingSecret,
    template: templateOf(manifest),
    webhookProfile,
    slug: manifest.package.slug,
    listing: listingOf(manifest),
    version: { version: manifest.package.version, riskTier: manifest.package.riskTier, changelog: manifest.package.changelog ?? null, capabilities: descriptorsOf(manifest) },
  };
}

// ---------- Comparing with what the API holds ----------

/** JSON with sorted keys: two values are equal when their canonical texts are. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

export const same = (a: unknown, b: unknown) => canonical(a) === canonical(b);

/** The template as the API answers it (defaults filled in), for comparison. */
export function normalizedTemplate(template: TemplateBody): Record<string, unknown>[] {
  return template.capabilities.map((c) => ({
    name: c.name,
    description: c.description,
    inputSchema: c.inputSchema ?? null,
    outputSchema: c.outputSchema,
    refreshIntervalSeconds: c.refreshIntervalSeconds,
    actions: (c.actions ?? []).map((a) => ({ name: a.name, description: a.description, inputSchema: a.inputSchema, outputSchema: a.outputSchema ?? null })),
    surfaceGuidance: { surfaces: c.surfaceGuidance.surfaces, summary: c.surfaceGuidance.summary ?? null, priority: c.surfaceGuidance.priority ?? "normal", notes: c.surfaceGuidance.notes ?? null },
  }));
}

/** What the API shows of a secret: `****` and its last 4 characters (16 characters or more). */
export const secretHint = (secret: string) => (secret.length >= 16 ? `****${secret.slice(-4)}` : "****");

/**
 * Whether the stored auth profile matches the manifest's. Secrets are only shown masked, so a
 * secret counts as unchanged when its hint matches (`--rotate-secrets` sends them anyway).
 */
export function sameAuthProfile(stored: Record<string, unknown> | null, wanted: AuthProfileBody): boolean {
  if (!stored || stored.type !== wanted.type) return false;
  switch (wanted.type) {
    case "api_key":
      return stored.headerName === wanted.headerName && stored.value === secretHint(wanted.value);
    case "oauth2":
      return (
        stored.tokenUrl === wanted.tokenUrl &&
        stored.clientId === wanted.clientId &&
        stored.clientSecret === secretHint(wanted.clientSecret) &&
        (stored.scope ?? null) === (wanted.scope ?? null) &&
        stored.tokenEndpointAuthMethod === (wanted.tokenEndpointAuthMethod ?? "client_secret_basic")
      );
    case "custom": {
      const secrets = Object.fromEntries(Object.entries(wanted.secrets ?? {}).map(([k, v]) => [k, secretHint(v)]));
      return same(stored.headers, wanted.headers) && same(stored.secrets, secrets);
    }
  }
  return false;
}

export function sameWebhookProfile(stored: Record<string, unknown> | null, wanted: WebhookProfileBody): boolean {
  if (!stored) return false;
  const defaults = { maxAttempts: 8, initialDelaySeconds: 30, maxDelaySeconds: 36_000 };
  return (
    stored.url === wanted.url &&
    same([...((stored.events as string[]) ?? [])].sort(), [...wanted.events].sort()) &&
    same(stored.retryPolicy, { ...defaults, ...(wanted.retryPolicy ?? {}) }) &&
    stored.status === "enabled"
  );
}

// ---------- Where a finding of the API is in the manifest ----------

/**
 * Maps a JSON path of the API (conformance findings: `$.package`, `$.version`, `$.runtime`; or a
 * request body field `capabilities.0.name`) to the manifest's path for the same value.
 */
export function manifestPathOf(apiPath: Segment[]): Segment[] {
  const [head, ...rest] = apiPath;
  if (head === "package") return ["package", ...rest];
  if (head === "version") {
    const [field, ...more] = rest;
    if (field === "capabilities") return ["capabilities", ...more];
    if (field === "riskTier" || field === "changelog" || field === "version") return ["package", field];
    return ["package", "version"];
  }
  if (head === "runtime") {
    const [field, ...more] = rest;
    if (field === "authProfile") return ["runtime", "auth", ...more];
    if (field === "endpointUrl") return ["runtime", "endpointUrl"];
    return ["runtime"];
  }
  return [];
}

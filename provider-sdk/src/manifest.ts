import type { JsonSchema } from "./types";

/**
 * The part of the integration manifest (`aiffinity.json`, docs/cli.md) a runtime reads: its
 * capabilities' schemas, how Aiffinity authenticates to it, and its signing secret. The CLI
 * validates the whole manifest against its JSON Schema; the runtime only reads these fields, so
 * the schemas it checks handlers against are the ones the CLI publishes.
 */

/** Secrets never appear in the manifest: they name an environment variable. */
export interface EnvRef {
  env: string;
}

export interface ManifestAction {
  id: string;
  inputSchema: JsonSchema;
  outputSchema?: JsonSchema;
}

export interface ManifestCapability {
  id: string;
  inputSchema?: JsonSchema;
  outputSchema: JsonSchema;
  actions?: ManifestAction[];
}

export type ManifestAuth =
  | { type: "api_key"; headerName: string; value: EnvRef }
  | { type: "oauth2"; tokenUrl: string; clientId: string; clientSecret: EnvRef; scope?: string; tokenEndpointAuthMethod?: string }
  | { type: "custom"; headers: Record<string, string>; secrets?: Record<string, EnvRef> };

export interface RuntimeManifest {
  package?: { version?: string };
  runtime?: { endpointUrl?: string | (EnvRef & { default?: string }); auth?: ManifestAuth; signingSecret?: EnvRef };
  capabilities: ManifestCapability[];
  webhooks?: { url?: string | (EnvRef & { default?: string }) };
}

export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ManifestError";
  }
}

export function resolveEnv(ref: EnvRef, env: Record<string, string | undefined>, what: string): string {
  if (!ref || typeof ref !== "object" || typeof ref.env !== "string") throw new ManifestError(`${what} must be {"env": "VARIABLE_NAME"}`);
  const value = env[ref.env];
  if (value === undefined || value === "") throw new ManifestError(`${what}: environment variable ${ref.env} is not set`);
  return value;
}

/** A URL given as a string or as an environment variable (with a default), or undefined when unset. */
export function urlOf(value: string | (EnvRef & { default?: string }) | undefined, env: Record<string, string | undefined>): string | undefined {
  if (value === undefined || typeof value === "string") return value;
  return env[value.env] || value.default;
}

/** The path part of a URL, or the string itself when it is already a path. */
export function pathOf(url: string): string {
  if (url.startsWith("/")) return url;
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

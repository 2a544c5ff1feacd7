/**
 * @aiffinity/provider-sdk: what a provider needs to implement the Aiffinity runtime contract
 * (docs/provider-runtime.md). See README.md.
 */
export { createRuntime, Runtime, RuntimeError } from "./runtime";
export type { RuntimeOptions } from "./runtime";
export { nodeHandler, expressHandler, listen, readBody, MAX_BODY_BYTES } from "./node";
export type { Listening } from "./node";
export { verifyWebhookSignature, issueAccessToken, verifyAccessToken, matchesTemplate } from "./auth";
export type { AuthMode } from "./auth";
export { ManifestError, resolveEnv } from "./manifest";
export type { RuntimeManifest, ManifestCapability, ManifestAction, ManifestAuth, EnvRef } from "./manifest";
export type * from "./types";

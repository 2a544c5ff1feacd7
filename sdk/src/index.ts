/**
 * @aiffinity/sdk: the typed client of the Aiffinity platform API (README.md, docs/sdk.md).
 */
export { Aiffinity, DEFAULT_BASE_URL } from "./client.js";
export type { AiffinityOptions, FullResponse, Pagination } from "./client.js";
export { AiffinityError, parseRetryAfter } from "./errors.js";
export type { ErrorDetail } from "./errors.js";
export type { RealtimeEvent, RealtimeEventData, RealtimeOptions, RealtimeState } from "./realtime.js";
export type { RetryOptions } from "./transport.js";
export { SECURITY, API_VERSION } from "./generated/operations.js";
export { ENUMS } from "./generated/enums.js";
export type { SecurityScheme } from "./generated/operations.js";
export type { ApiErrorCode, ApiErrorBody, CallArgs, CallOptions, RequestBody, SuccessBody, ClientCredentials, Data, ItemOf, ListPaths, Method, PathsFor, Session, paths, components, webhooks, WebhookEvent, WebhookEvents } from "./types.js";

/** Shorthand for a schema of the API's document: `Schema<"App">`. */
import type { components } from "./generated/api.js";
export type Schema<Name extends keyof components["schemas"]> = components["schemas"][Name];

import type { FetchOptions } from "openapi-fetch";
import type { FilterKeys, HttpMethod, PathsWithMethod, RequiredKeysOf, SuccessResponse, ResponseObjectMap, ErrorResponse } from "openapi-typescript-helpers";
import type { components, paths, webhooks } from "./generated/api.js";

/**
 * Type helpers over the generated `paths`: every call is typed by its path template and method,
 * so operation names and schema names can change in the document without breaking callers.
 */

export type { paths, components, webhooks };

/** Each webhook event's body, by type, from the document's `webhooks` (docs/webhooks.md). */
export type WebhookEvents = {
  [T in keyof webhooks]: webhooks[T] extends { post: { requestBody: { content: { "application/json": infer Body } } } } ? Body : never;
};
/** Any webhook event: narrow it on `type`. */
export type WebhookEvent = WebhookEvents[keyof WebhookEvents];
export type Method = Extract<HttpMethod, "get" | "post" | "put" | "patch" | "delete">;
export type PathsFor<M extends Method> = PathsWithMethod<paths, M>;
export type Operation<P extends keyof paths, M extends Method> = FilterKeys<paths[P], M>;

/** The options of a call: `params` (`path`, `query`, `header`), `body`, `headers`, `signal`... */
export type CallOptions<P extends keyof paths, M extends Method> = FetchOptions<Operation<P, M>>;

/** The options argument, optional when the operation needs no path parameters or body. */
export type CallArgs<P extends keyof paths, M extends Method> =
  RequiredKeysOf<CallOptions<P, M>> extends never ? [options?: CallOptions<P, M>] : [options: CallOptions<P, M>];

/** The JSON body a call sends. */
export type RequestBody<P extends keyof paths, M extends Method> = NonNullable<CallOptions<P, M>["body"]>;

/** The JSON of a 2xx answer. */
export type SuccessBody<P extends keyof paths, M extends Method> =
  Operation<P, M> extends infer O extends Record<string | number, any> ? SuccessResponse<ResponseObjectMap<O>, "application/json"> : never;

/** What a call resolves to: the envelope's `data` (or the whole body, for the few answers without the envelope). */
export type Data<P extends keyof paths, M extends Method> = SuccessBody<P, M> extends { data: infer D; meta: unknown } ? D : SuccessBody<P, M>;

/** Paths whose GET answers a page (`meta.pagination`): the ones `paginate()` walks. */
export type ListPaths = {
  [P in PathsFor<"get">]: SuccessBody<P, "get"> extends { data: unknown[]; meta: { pagination: unknown } } ? P : never;
}[PathsFor<"get">];

export type ItemOf<P extends ListPaths> = SuccessBody<P, "get"> extends { data: (infer I)[] } ? I : never;

/** The error envelope, as the document describes it (whatever its schema is named). */
export type ApiErrorBody = ErrorResponse<ResponseObjectMap<paths["/v1/providers/apps"]["post"]>, "application/json">;
/** The documented error codes (docs/errors.md); widened so codes added later still type-check. */
export type ApiErrorCode = (ApiErrorBody extends { error: { code: infer C } } ? C : string) | (string & {});

/** A signed-in developer (POST /v1/providers/account/login): keep it to stay signed in. */
export interface Session {
  idToken: string;
  refreshToken: string;
  /** When idToken expires (ms since the epoch); it is refreshed shortly before. */
  expiresAt: number;
  accountId: string;
}

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

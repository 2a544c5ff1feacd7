import type { Request, Response } from "express";
import { type z } from "zod";
import type { Authenticator, Principal } from "../auth/principal";
import type { ErrorCode } from "../errors";
import type { ReadBatch } from "../firestore";
import type { Page } from "./envelope";

export type HttpMethod = "get" | "post" | "put" | "patch" | "delete";

interface HandlerInput<A, P, Q, B> {
  principal: A;
  params: P;
  query: Q;
  body: B;
  req: Request;
  res: Response;
  requestId: string;
}

const REPLY = Symbol("reply");

export interface Reply<T> {
  [REPLY]: true;
  status?: number;
  data: T;
  headers?: Record<string, string>;
}

/** Lets a handler choose the status or add headers: `return reply(app, { status: 201 })`. */
export const reply = <T>(data: T, options: { status?: number; headers?: Record<string, string> } = {}): Reply<T> => ({
  [REPLY]: true,
  data,
  ...options,
});

export const isReply = (value: unknown): value is Reply<unknown> => typeof value === "object" && value !== null && REPLY in value;

/** Returned by handlers that wrote the response themselves (streams). */
export const STREAMED = Symbol("streamed");

type Body = "json" | "form";

interface RouteBase<A extends Principal, PS extends z.ZodType, QS extends z.ZodType, BS extends z.ZodType> {
  method: HttpMethod;
  /** The operation's stable, human name in the OpenAPI document and in generated clients, e.g. `validatePackageVersion`. */
  operationId: string;
  /** Express path, e.g. `/v1/providers/apps/:id`. */
  path: string;
  summary: string;
  description?: string;
  tags: string[];
  auth: Authenticator<A>;
  params?: PS;
  query?: QS;
  /** Request headers the route reads (lowercase names): validated (400 naming `header.<name>`) and documented; read them with `req.get()`. */
  headers?: z.ZodObject;
  body?: BS;
  /** Content types the body may use (default json). */
  bodyTypes?: Body[];
  /** Largest body accepted, in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /** Success status (default 200). */
  status?: number;
  /** Error codes this route documents besides the common ones. */
  errors?: ErrorCode[];
  /** Whether an empty body is accepted (parsed as `{}`); by default a route with a body schema requires one. */
  bodyOptional?: boolean;
  /**
   * How errors are answered: the `{error: {code, ...}}` envelope (default), or the OAuth 2.1 format
   * `{error, error_description}` that OAuth client libraries expect (the token endpoint).
   */
  errorFormat?: ErrorFormat;
  /**
   * A write to one resource: the resource's name from the path parameters (`package pkg_...`).
   * The kernel takes a short lease on it (per account) before the handler, so concurrent writes
   * answer 409 CONFLICT at once instead of contending on a transaction (kernel/resourceLock.ts).
   */
  lock?: (params: z.output<PS>) => string;
  /**
   * Optimistic concurrency: the path of this surface's GET route whose representation the write
   * changes. Its ETag is sent on that GET and on this write's answer, and `If-Match` here is
   * compared with it (412 PRECONDITION_FAILED when stale). Needs `lock`.
   */
  ifMatch?: string;
  /**
   * Starts reads the handler will need once the caller's credentials are verified (a local check),
   * its document lookups in `reads`, the batch of the authenticator's own (the app and its
   * account): one RPC, one round trip for all. It gets the raw request: it must validate what it
   * uses, only read, and never fail the request (the handler reads again whatever it did not
   * start). The handler authorises the caller before answering anything from these reads.
   */
  prefetch?: (req: Request, reads: ReadBatch) => void;
  /**
   * A POST that creates something takes `Idempotency-Key` (kernel/idempotency.ts): `sealed`
   * stores the answer to replay encrypted, for answers that hold a secret shown once.
   */
  idempotency?: "plain" | "sealed";
}

export type ErrorFormat = "envelope" | "oauth";

type In<A extends Principal, PS extends z.ZodType, QS extends z.ZodType, BS extends z.ZodType> = HandlerInput<
  A,
  z.output<PS>,
  z.output<QS>,
  z.output<BS>
>;

/** A route answering `{data, meta}`. */
export interface SingleRoute<
  A extends Principal,
  PS extends z.ZodType,
  QS extends z.ZodType,
  BS extends z.ZodType,
  OS extends z.ZodType,
> extends RouteBase<A, PS, QS, BS> {
  kind: "single";
  response: OS;
  /** For routes that create something (201): the path of the new resource, sent as `Location`. */
  location?: (data: z.output<OS>) => string;
  handler(input: In<A, PS, QS, BS>): Promise<z.input<OS> | Reply<z.input<OS>>>;
}

/** A route answering `{data: [...], meta: {pagination}}`. */
export interface ListRoute<
  A extends Principal,
  PS extends z.ZodType,
  QS extends z.ZodType,
  BS extends z.ZodType,
  OS extends z.ZodType,
> extends RouteBase<A, PS, QS, BS> {
  kind: "list";
  response: OS;
  handler(input: In<A, PS, QS, BS>): Promise<Page<z.input<OS>>>;
}

/** A route answering a bare JSON document (OAuth token endpoint, JWKS, OpenAPI) or a stream. */
export interface RawRoute<
  A extends Principal,
  PS extends z.ZodType,
  QS extends z.ZodType,
  BS extends z.ZodType,
  OS extends z.ZodType,
> extends RouteBase<A, PS, QS, BS> {
  kind: "raw";
  response: OS;
  /** Content type documented for the response (default application/json). */
  contentType?: string;
  handler(input: In<A, PS, QS, BS>): Promise<z.input<OS> | Reply<z.input<OS>> | typeof STREAMED>;
}

type Empty = z.ZodObject<Record<string, never>>;

// The helpers below only exist to infer the schema types for the handler.
export const route = <
  A extends Principal,
  OS extends z.ZodType,
  PS extends z.ZodType = Empty,
  QS extends z.ZodType = Empty,
  BS extends z.ZodType = Empty,
>(
  def: Omit<SingleRoute<A, PS, QS, BS, OS>, "kind">,
): SingleRoute<A, PS, QS, BS, OS> => ({ kind: "single", ...def });

export const listRoute = <
  A extends Principal,
  OS extends z.ZodType,
  PS extends z.ZodType = Empty,
  QS extends z.ZodType = Empty,
  BS extends z.ZodType = Empty,
>(
  def: Omit<ListRoute<A, PS, QS, BS, OS>, "kind">,
): ListRoute<A, PS, QS, BS, OS> => ({ kind: "list", ...def });

export const rawRoute = <
  A extends Principal,
  OS extends z.ZodType,
  PS extends z.ZodType = Empty,
  QS extends z.ZodType = Empty,
  BS extends z.ZodType = Empty,
>(
  def: Omit<RawRoute<A, PS, QS, BS, OS>, "kind">,
): RawRoute<A, PS, QS, BS, OS> => ({ kind: "raw", ...def });

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRoute = SingleRoute<any, any, any, any, any> | ListRoute<any, any, any, any, any> | RawRoute<any, any, any, any, any>;

/** Express `:id` → OpenAPI `{id}`. */
export const openApiPath = (path: string) => path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, "{$1}");

/** Types of the runtime contract (docs/provider-runtime.md) as a handler sees them. */

export type JsonSchema = Record<string, unknown>;

/** Who the call is for: a pseudonymous id, stable per user and provider account; never an e-mail or a name. */
export interface UserContext {
  id: string;
  locale?: string;
  timezone?: string;
}

/** Why the platform calls: `sync` (scheduled refresh), `user` (an Aiffinity client), `api` (you, through the Capabilities API). */
export interface CallContext {
  surface?: string;
  source?: "sync" | "user" | "api" | string;
  installId?: string;
  /** Sandbox runs (docs/sandbox.md): keep test traffic apart. */
  sandbox?: boolean;
  [key: string]: unknown;
}

/** Which configured mechanism authenticated the request. */
export type AuthMethod = "api_key" | "oauth2" | "custom";

/** What the runtime verified about a request before any handler ran. */
export interface Verification {
  /** The auth mode that matched, or null (the request was refused, or the route needs none). */
  auth: AuthMethod | null;
  /** true/false: a signing secret is configured and the signature matched or not; null: none configured. */
  signature: boolean | null;
}

interface CallBase {
  /** `aiffinity-request-id`: quote it to Aiffinity support. */
  requestId: string;
  /**
   * The call's idempotency key: the `Idempotency-Key` header when the platform sends one, else
   * `aiffinity-request-id` (one per platform call, the same on its retries). Use it to make side
   * effects happen once.
   */
  idempotencyKey: string;
  capability: string;
  user: UserContext;
  context: CallContext;
  verification: Verification;
  /** Request headers, names in lower case. */
  headers: Readonly<Record<string, string>>;
}

export interface InvokeRequest<Params = Record<string, unknown>> extends CallBase {
  /** Validated against the capability's inputSchema before the handler runs. */
  parameters: Params;
}

export interface InvokeResult<Data = unknown> {
  /** Validated against the capability's outputSchema before it is sent. */
  data: Data;
  /** How long the platform may serve `data` from its cache (bounded by the refresh interval). */
  ttlSeconds?: number;
}

export interface ActionRequest<Input = Record<string, unknown>> extends CallBase {
  action: string;
  /** Validated against the action's inputSchema before the handler runs. */
  input: Input;
}

export interface ActionResult<Result = unknown> {
  result: Result;
  /** 200 (default) or 201. */
  status?: 200 | 201;
}

export type CapabilityHandler<Params, Data> = (request: InvokeRequest<Params>) => InvokeResult<Data> | Promise<InvokeResult<Data>>;
export type ActionHandler<Input, Result> = (request: ActionRequest<Input>) => ActionResult<Result> | Promise<ActionResult<Result>>;

/** A webhook delivery (docs/webhooks.md), after its signature was verified. */
export interface WebhookEvent<Data = Record<string, unknown>> {
  id: string;
  type: string;
  occurredAt: string;
  appId: string | null;
  data: Data;
}

export interface WebhookDelivery {
  /** `webhook-id`: the same on every retry of one delivery. */
  deliveryId: string;
  headers: Readonly<Record<string, string>>;
}

export type WebhookHandler = (event: WebhookEvent, delivery: WebhookDelivery) => void | Promise<void>;

/** A framework-neutral HTTP request: what every adapter hands to `runtime.handle()`. */
export interface RuntimeRequest {
  method: string;
  /** Path below the runtime's endpoint URL (query string allowed), e.g. `/capabilities/x/invoke`. */
  path: string;
  /** Header names in any case; repeated headers joined with ", ". */
  headers: Record<string, string | string[] | undefined>;
  /** The raw body, exactly as received: signatures are computed over these bytes. */
  body: string;
}

export interface RuntimeResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  verification: Verification;
}

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

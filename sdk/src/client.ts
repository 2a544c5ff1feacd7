import createClient, { type Client, type Middleware } from "openapi-fetch";
import { AccessTokens, SessionStore } from "./credentials.js";
import { AiffinityError } from "./errors.js";
import { SECURITY, type SecurityScheme } from "./generated/operations.js";
import { realtime, type RealtimeEvent, type RealtimeOptions } from "./realtime.js";
import { type Fetch, networkError, type RetryOptions, retryingFetch, uuid } from "./transport.js";
import type { CallArgs, CallOptions, ClientCredentials, Data, ItemOf, ListPaths, Method, paths, PathsFor, Session } from "./types.js";

export const DEFAULT_BASE_URL = "https://api.aiffinity.me";

/**
 * Firebase Hosting (the API's domains) buffers streamed responses, so realtime streams of the
 * hosted API default to the capabilities function's own URL (docs/capabilities.md).
 */
const REALTIME_URLS: Record<string, string> = {
  "https://api.aiffinity.me": "https://us-central1-aiffinity-prod.cloudfunctions.net/capabilitiesApi",
  "https://api.staging.aiffinity.me": "https://us-central1-aiffinity-staging.cloudfunctions.net/capabilitiesApi",
};

export interface AiffinityOptions {
  /** The API (default https://api.aiffinity.me; locally the emulators' Hosting URL, e.g. http://127.0.0.1:5002). */
  baseUrl?: string;
  /**
   * Where realtime streams are opened: the capabilities function's direct URL
   * (https://us-central1-<project>.cloudfunctions.net/capabilitiesApi), because Firebase Hosting
   * buffers streamed responses. Default: that URL for the production and staging APIs, else baseUrl
   * (the local emulators stream through Hosting fine).
   */
  realtimeBaseUrl?: string;
  /** A developer's session (from `login()` earlier), for console, packages and catalog calls. */
  session?: Session | null;
  /** Told whenever the session changes (login, refresh, logout): persist it to stay signed in. */
  onSessionChange?: (session: Session | null) => void;
  /** A Firebase ID token source of your own (e.g. an end user's, from the Firebase JS SDK); wins over `session`. */
  idToken?: () => string | Promise<string>;
  /** An app's client credentials, for runtime and capabilities calls (tokens are cached and renewed). */
  clientCredentials?: ClientCredentials | null;
  /** Retries of 429 and 503 answers (honouring Retry-After); `false` disables them. */
  retry?: RetryOptions | false;
  /** Deadline of each attempt in ms (default 90 s; `?wait=true` validations take up to 30 s). */
  timeoutMs?: number;
  /** Sent with every request. */
  headers?: Record<string, string>;
  /** A fetch of your own (tests, proxies). */
  fetch?: (input: Request) => Promise<Response>;
}

export interface FullResponse<T> {
  data: T;
  /** The envelope's meta: `requestId`, and `pagination` for lists. */
  meta: { requestId?: string; pagination?: Pagination } & Record<string, unknown>;
  response: Response;
}

export interface Pagination {
  total: number;
  limit: number;
  offset: number;
  hasMore: boolean;
}

/**
 * The Aiffinity API client. Calls are typed by path and method from the API's OpenAPI document:
 *
 *   const app = await aiffinity.get("/v1/providers/apps/{id}", { params: { path: { id } } });
 *
 * Each resolves to the envelope's `data`, or throws an `AiffinityError`. Credentials are chosen per
 * operation from the document's security requirements; POSTs carry an `Idempotency-Key`; 429 and
 * 503 answers are retried after `Retry-After`.
 */
export class Aiffinity {
  readonly baseUrl: string;
  readonly realtimeBaseUrl: string;
  /** The underlying openapi-fetch client (same auth, retries and idempotency), answering `{data, error, response}` without throwing. */
  readonly raw: Client<paths>;
  /** @internal */ readonly transport: Fetch;
  /** @internal The same without a deadline: realtime streams stay open for an hour. */ readonly streamTransport: Fetch;
  private readonly sessions: SessionStore;
  private readonly tokens: AccessTokens;
  private readonly idTokenSource?: () => string | Promise<string>;
  /** Requests this client authenticated (a 401 to them is retried once with fresh credentials). */
  private readonly authorized = new WeakMap<Request, SecurityScheme>();

  constructor(options: AiffinityOptions = {}) {
    this.baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
    this.realtimeBaseUrl = (options.realtimeBaseUrl ?? REALTIME_URLS[this.baseUrl] ?? this.baseUrl).replace(/\/+$/, "");
    const base: Fetch = options.fetch ?? ((request) => globalThis.fetch(request));
    const retry = options.retry === false ? { retries: 0 } : (options.retry ?? {});
    this.transport = retryingFetch(base, { ...retry, timeoutMs: options.timeoutMs ?? 90_000 });
    this.streamTransport = retryingFetch(base, retry);
    this.sessions = new SessionStore(options.session ?? null, this.baseUrl, this.transport, options.onSessionChange);
    this.tokens = new AccessTokens(options.clientCredentials ?? null, this.baseUrl, this.transport);
    this.idTokenSource = options.idToken;
    this.raw = createClient<paths>({ baseUrl: this.baseUrl, fetch: this.transport, headers: options.headers });
    this.raw.use(this.authMiddleware());
  }

  // ---------- Sessions ----------

  /** Signs a developer in (POST /v1/providers/account/login) and keeps the session for later calls. */
  login(email: string, password: string): Promise<Session> {
    return this.sessions.login(email, password);
  }

  /** Forgets the session (ID tokens cannot be revoked early; they expire within the hour). */
  logout(): void {
    this.sessions.set(null);
  }

  get session(): Session | null {
    return this.sessions.current;
  }

  /** The credential an operation's security scheme needs: a Firebase ID token or an app's access token. */
  async credential(scheme: SecurityScheme, force = false): Promise<string | null> {
    if (scheme === "oauth2ClientCredentials") return this.tokens.token(force);
    if (scheme === "firebaseIdToken") return this.idTokenSource ? await this.idTokenSource() : this.sessions.idToken(force);
    return null;
  }

  private authMiddleware(): Middleware {
    return {
      onRequest: async ({ request, schemaPath }) => {
        const scheme = SECURITY[`${request.method} ${schemaPath}`] ?? "none";
        if (scheme !== "none" && !request.headers.has("authorization")) {
          request.headers.set("authorization", `Bearer ${await this.credential(scheme)}`);
          this.authorized.set(request, scheme);
        }
        // One key per call, the same on every retry of it: the API answers a repeat from what it stored.
        if (request.method === "POST" && scheme !== "none" && !request.headers.has("idempotency-key")) request.headers.set("idempotency-key", uuid());
        return request;
      },
      onResponse: async ({ request, response }) => {
        const scheme = this.authorized.get(request);
        if (response.status !== 401 || !scheme) return undefined;
        // An expired or revoked token: renew it once and send the request again.
        await response.body?.cancel().catch(() => undefined);
        const retry = new Request(request.clone());
        retry.headers.set("authorization", `Bearer ${await this.credential(scheme, true)}`);
        return this.transport(retry);
      },
    };
  }

  // ---------- Calls ----------

  /** A call with its whole answer: `data`, the envelope's `meta` and the `Response` (headers such as Location). */
  async request<M extends Method, P extends PathsFor<M>>(method: M, path: P, ...args: CallArgs<P, M>): Promise<FullResponse<Data<P, M>>> {
    const options = (args[0] ?? {}) as Record<string, unknown>;
    let result: { data?: unknown; error?: unknown; response: Response };
    try {
      result = await (this.raw.request as (m: string, p: string, o: unknown) => Promise<typeof result>)(method.toUpperCase(), path, options);
    } catch (error) {
      if (error instanceof AiffinityError) throw error;
      throw networkError(error, new Request(`${this.baseUrl}${path}`, { method: method.toUpperCase() }));
    }
    const { response } = result;
    if (!response.ok) throw AiffinityError.fromBody(response, result.error);
    const body = result.data as { data?: unknown; meta?: FullResponse<unknown>["meta"] } | undefined;
    const enveloped = body !== null && typeof body === "object" && "data" in body && "meta" in body;
    return { data: (enveloped ? body.data : body) as Data<P, M>, meta: (enveloped ? body.meta : {}) as FullResponse<unknown>["meta"], response };
  }

  async get<P extends PathsFor<"get">>(path: P, ...args: CallArgs<P, "get">): Promise<Data<P, "get">> {
    return (await this.request("get", path, ...args)).data;
  }

  /** POSTs carry an `Idempotency-Key` (a new one per call; pass `headers: {"Idempotency-Key": ...}` to choose it). */
  async post<P extends PathsFor<"post">>(path: P, ...args: CallArgs<P, "post">): Promise<Data<P, "post">> {
    return (await this.request("post", path, ...args)).data;
  }

  async put<P extends PathsFor<"put">>(path: P, ...args: CallArgs<P, "put">): Promise<Data<P, "put">> {
    return (await this.request("put", path, ...args)).data;
  }

  async patch<P extends PathsFor<"patch">>(path: P, ...args: CallArgs<P, "patch">): Promise<Data<P, "patch">> {
    return (await this.request("patch", path, ...args)).data;
  }

  async delete<P extends PathsFor<"delete">>(path: P, ...args: CallArgs<P, "delete">): Promise<Data<P, "delete">> {
    return (await this.request("delete", path, ...args)).data;
  }

  /** One page of a list, with its pagination (`total`, `limit`, `offset`, `hasMore`). */
  async list<P extends ListPaths>(path: P, ...args: CallArgs<P, "get">): Promise<{ items: ItemOf<P>[]; pagination: Pagination }> {
    const { data, meta } = await this.request("get", path, ...args);
    return { items: data as ItemOf<P>[], pagination: meta.pagination as Pagination };
  }

  /**
   * Every item of a list, page after page (`?limit` 100 unless given, from `?offset`):
   *
   *   for await (const app of aiffinity.paginate("/v1/providers/apps")) console.log(app.name);
   */
  async *paginate<P extends ListPaths>(path: P, ...args: CallArgs<P, "get">): AsyncGenerator<ItemOf<P>, void, undefined> {
    const options = (args[0] ?? {}) as CallOptions<P, "get"> & { params?: { query?: Record<string, unknown> } };
    const query = { ...(options.params?.query ?? {}) };
    let offset = Number(query.offset ?? 0);
    const limit = Number(query.limit ?? 100);
    for (;;) {
      const page = await this.list(path, ...([{ ...options, params: { ...options.params, query: { ...query, limit, offset } } }] as unknown as CallArgs<P, "get">));
      yield* page.items;
      if (!page.pagination?.hasMore || page.items.length === 0) return;
      offset += page.items.length;
    }
  }

  /**
   * The Server-Sent Events of a capability's state changes, resumed after any disconnect with
   * `Last-Event-ID` (no loss, no duplicates). Stop with `options.signal` or by leaving the loop.
   *
   *   for await (const event of aiffinity.realtime("acme-weather.forecast", { bindingId })) ...
   */
  realtime(capability: string, options: RealtimeOptions = {}): AsyncGenerator<RealtimeEvent, void, undefined> {
    return realtime(this, capability, options);
  }
}

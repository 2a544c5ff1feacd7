import { AuthChecker, authChecker, authFromManifest, AuthMode, answerTokenRequest, verifyWebhookSignature } from "./auth";
import { ManifestError, pathOf, resolveEnv, RuntimeManifest, urlOf } from "./manifest";
import { compile, Validator } from "./schemas";
import type {
  ActionHandler,
  ActionRequest,
  CallContext,
  CapabilityHandler,
  InvokeRequest,
  JsonSchema,
  Logger,
  RuntimeRequest,
  RuntimeResponse,
  UserContext,
  Verification,
  WebhookEvent,
  WebhookHandler,
} from "./types";

/**
 * A provider runtime (docs/provider-runtime.md), framework-neutral: `handle()` takes a request
 * (method, path, headers, raw body) and answers one; the Node and Express adapters feed it.
 */

export interface RuntimeOptions {
  /** The integration manifest (`aiffinity.json`): capability schemas, auth profile and signing secret, read from it. */
  manifest?: RuntimeManifest;
  /** Where the manifest's `{"env": ...}` references are read (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** How Aiffinity authenticates to you; any listed mode may match. Default: the manifest's `runtime.auth`. */
  auth?: AuthMode | AuthMode[];
  /** For an `oauth2` auth profile whose token URL is your own authorization server. */
  verifyToken?: (token: string) => boolean | Promise<boolean>;
  /** Signing secrets (`whsec_...`; two during a rotation). Default: the manifest's `runtime.signingSecret`. */
  signingSecret?: string | string[];
  /** Refuse calls whose signature does not verify (default true once a signing secret is known). */
  requireSignature?: boolean;
  /** Reported by GET /health (default: the manifest's package version). */
  version?: string;
  /** Where webhook deliveries arrive (default: the path of the manifest's `webhooks.url`, else `/webhooks`). */
  webhooksPath?: string;
  /** Check `data` and `result` against the output schemas before sending them (default true). */
  validateOutput?: boolean;
  logger?: Logger;
}

/** An error a handler throws to answer with a status and code of its choice (4xx: the request was wrong, 5xx: your failure). */
export class RuntimeError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "RuntimeError";
  }
}

interface Capability {
  id: string;
  validateInput: Validator | null;
  validateOutput: Validator | null;
  actions: Map<string, { validateInput: Validator; validateOutput: Validator | null }>;
}

interface Registered {
  capability: Capability;
  handler?: CapabilityHandler<any, any>;
  actions: Map<string, ActionHandler<any, any>>;
}

const consoleLogger: Logger = {
  info: () => {},
  warn: (message, fields) => console.warn(`[aiffinity runtime] ${message}`, fields ?? ""),
  error: (message, fields) => console.error(`[aiffinity runtime] ${message}`, fields ?? ""),
};

/** Answers kept for replays of one idempotency key (per process; the platform itself never re-sends an action). */
const REPLAY_LIMIT = 1000;
const REPLAY_TTL_MS = 24 * 3600_000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function lowerHeaders(headers: RuntimeRequest["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  return out;
}

export class Runtime {
  private readonly declared = new Map<string, Capability>();
  private readonly registered = new Map<string, Registered>();
  private readonly webhookHandlers = new Map<string, WebhookHandler[]>();
  private readonly replays = new Map<string, { at: number; answer: Promise<RuntimeResponse> }>();
  private readonly seenDeliveries = new Map<string, number>();
  private readonly auth: AuthChecker;
  private signingSecrets: string[];
  private readonly requireSignature: boolean;
  private readonly webhooksPath: string;
  private readonly startedAt = Date.now();
  private readonly logger: Logger;
  private readonly options: RuntimeOptions;
  /** The manifest's runtime.endpointUrl: where the platform calls this runtime. */
  readonly endpointUrl: string | null;
  /** Called with every token the built-in OAuth endpoint issues (tests count them). */
  onTokenIssued: (() => void) | null = null;

  constructor(options: RuntimeOptions = {}) {
    this.options = options;
    this.logger = options.logger ?? consoleLogger;
    const env = options.env ?? process.env;
    const manifest = options.manifest;
    for (const capability of manifest?.capabilities ?? []) this.declare(capability.id, capability, `capabilities[${capability.id}]`);

    const modes = options.auth ? [options.auth].flat() : manifest?.runtime?.auth ? [authFromManifest(manifest.runtime.auth, env, { verifyToken: options.verifyToken })] : [];
    if (!modes.length) throw new ManifestError("No auth mode: give createRuntime an `auth` option or a manifest with runtime.auth (docs/provider-runtime.md)");
    this.auth = authChecker(modes);

    const secret = options.signingSecret ?? (manifest?.runtime?.signingSecret ? resolveEnv(manifest.runtime.signingSecret, env, "runtime.signingSecret") : undefined);
    this.signingSecrets = secret === undefined ? [] : [secret].flat().filter(Boolean);
    this.requireSignature = options.requireSignature ?? this.signingSecrets.length > 0;
    const webhooksUrl = urlOf(manifest?.webhooks?.url, env);
    this.webhooksPath = options.webhooksPath ?? (webhooksUrl ? pathOf(webhooksUrl) : "/webhooks");
    this.endpointUrl = urlOf(manifest?.runtime?.endpointUrl, env) ?? null;
  }

  private declare(id: string, schemas: { inputSchema?: JsonSchema; outputSchema?: JsonSchema; actions?: { id: string; inputSchema: JsonSchema; outputSchema?: JsonSchema }[] }, where: string): Capability {
    const capability: Capability = {
      id,
      validateInput: schemas.inputSchema ? compile(schemas.inputSchema, `${where}.inputSchema`) : null,
      validateOutput: schemas.outputSchema ? compile(schemas.outputSchema, `${where}.outputSchema`) : null,
      actions: new Map(),
    };
    for (const action of schemas.actions ?? []) {
      capability.actions.set(action.id, {
        validateInput: compile(action.inputSchema, `${where}.actions[${action.id}].inputSchema`),
        validateOutput: action.outputSchema ? compile(action.outputSchema, `${where}.actions[${action.id}].outputSchema`) : null,
      });
    }
    this.declared.set(id, capability);
    return capability;
  }

  private entry(id: string): Registered {
    let entry = this.registered.get(id);
    if (!entry) {
      const capability = this.declared.get(id);
      if (!capability) {
        throw new ManifestError(`Capability '${id}' is not declared: add it to the manifest's capabilities, or pass its schemas to capability()`);
      }
      entry = { capability, actions: new Map() };
      this.registered.set(id, entry);
    }
    return entry;
  }

  /**
   * Registers the invoke handler of a capability. Its parameters are checked against the
   * capability's inputSchema before the handler runs, its `data` against the outputSchema after.
   * Without a manifest, pass the schemas: `capability(id, { inputSchema, outputSchema }, handler)`.
   */
  capability<Params = Record<string, unknown>, Data = unknown>(id: string, handler: CapabilityHandler<Params, Data>): this;
  capability<Params = Record<string, unknown>, Data = unknown>(
    id: string,
    schemas: { inputSchema?: JsonSchema; outputSchema: JsonSchema },
    handler: CapabilityHandler<Params, Data>,
  ): this;
  capability(id: string, a: unknown, b?: unknown): this {
    if (typeof a !== "function") this.declare(id, a as { outputSchema: JsonSchema }, `capability(${id})`);
    const entry = this.entry(id);
    entry.handler = (typeof a === "function" ? a : b) as CapabilityHandler<unknown, unknown>;
    return this;
  }

  /** Registers an action's handler; its input is checked against the action's inputSchema first. */
  action<Input = Record<string, unknown>, Result = unknown>(capability: string, action: string, handler: ActionHandler<Input, Result>): this;
  action<Input = Record<string, unknown>, Result = unknown>(
    capability: string,
    action: string,
    schemas: { inputSchema: JsonSchema; outputSchema?: JsonSchema },
    handler: ActionHandler<Input, Result>,
  ): this;
  action(capability: string, action: string, a: unknown, b?: unknown): this {
    const entry = this.entry(capability);
    if (typeof a !== "function") {
      const schemas = a as { inputSchema: JsonSchema; outputSchema?: JsonSchema };
      entry.capability.actions.set(action, {
        validateInput: compile(schemas.inputSchema, `action(${capability}.${action}).inputSchema`),
        validateOutput: schemas.outputSchema ? compile(schemas.outputSchema, `action(${capability}.${action}).outputSchema`) : null,
      });
    }
    if (!entry.capability.actions.has(action)) throw new ManifestError(`Action '${capability}.${action}' is not declared in the manifest`);
    entry.actions.set(action, (typeof a === "function" ? a : b) as ActionHandler<unknown, unknown>);
    return this;
  }

  /** Handles webhook deliveries of one event type (or `*` for all), after their signature was verified. */
  webhook(type: string, handler: WebhookHandler): this {
    this.webhookHandlers.set(type, [...(this.webhookHandlers.get(type) ?? []), handler]);
    return this;
  }

  /** What GET /health reports: the handlers served (`capability` and `capability.action`). */
  handlers(): string[] {
    return [...this.registered.values()].flatMap((e) => [...(e.handler ? [e.capability.id] : []), ...[...e.actions.keys()].map((a) => `${e.capability.id}.${a}`)]);
  }

  /** Declared in the manifest but without a handler: the platform's health check reports these as missing. */
  unhandled(): string[] {
    const served = new Set(this.handlers());
    return [...this.declared.values()].flatMap((c) => [c.id, ...[...c.actions.keys()].map((a) => `${c.id}.${a}`)]).filter((h) => !served.has(h));
  }

  /** Replaces the signing secrets (a rotation: pass the new and the previous one until the grace period ends). */
  setSigningSecrets(secrets: string[]): this {
    this.signingSecrets = secrets.filter(Boolean);
    return this;
  }

  /** The Standard Webhooks check of this runtime's signing secrets, for your own routes. */
  verifySignature(headers: RuntimeRequest["headers"], body: string): boolean {
    return this.signingSecrets.length > 0 && verifyWebhookSignature(this.signingSecrets, headers, body);
  }

  async handle(request: RuntimeRequest): Promise<RuntimeResponse> {
    const headers = lowerHeaders(request.headers);
    const path = request.path.split("?")[0]!.replace(/\/+$/, "") || "/";
    const verification: Verification = { auth: null, signature: null };
    const answer = (status: number, body: unknown, extra: Record<string, string> = {}): RuntimeResponse => {
      if (status === 204) return { status, headers: extra, body: "", verification };
      return { status, headers: { "content-type": "application/json", ...extra }, body: JSON.stringify(body), verification };
    };
    const fail = (status: number, code: string, message: string, extra: Record<string, string> = {}) => answer(status, { error: { code, message } }, extra);

    try {
      if (this.auth.issuer && path === this.auth.issuer.path) {
        if (request.method !== "POST") return fail(405, "METHOD_NOT_ALLOWED", "Use POST", { allow: "POST" });
        const token = answerTokenRequest(this.auth.issuer.mode, headers, request.body);
        if (token.issued) this.onTokenIssued?.();
        return answer(token.status, token.body, token.headers);
      }
      if (path === this.webhooksPath && this.webhookHandlers.size > 0) {
        if (request.method !== "POST") return fail(405, "METHOD_NOT_ALLOWED", "Use POST", { allow: "POST" });
        return await this.deliver(headers, request.body, answer, fail);
      }

      verification.auth = await this.auth.check(headers);
      if (this.signingSecrets.length) verification.signature = verifyWebhookSignature(this.signingSecrets, headers, request.body);
      if (!verification.auth) return fail(401, "UNAUTHENTICATED", "Missing or wrong credentials");
      if (this.requireSignature && verification.signature !== true) return fail(401, "UNAUTHENTICATED", "Missing or invalid request signature");

      if (path === "/health") {
        if (request.method !== "GET") return fail(405, "METHOD_NOT_ALLOWED", "Use GET", { allow: "GET" });
        return answer(200, {
          status: "ok",
          version: this.options.version ?? this.options.manifest?.package?.version ?? "0.0.0",
          uptimeSeconds: Math.floor((Date.now() - this.startedAt) / 1000),
          capabilities: this.handlers(),
        });
      }
      const invoke = /^\/capabilities\/([^/]+)\/invoke$/.exec(path);
      const action = /^\/capabilities\/([^/]+)\/actions\/([^/]+)$/.exec(path);
      if (!invoke && !action) return fail(404, "NOT_FOUND", `No handler for ${request.method} ${path}`);
      if (request.method !== "POST") return fail(405, "METHOD_NOT_ALLOWED", "Use POST", { allow: "POST" });
      let body: unknown;
      try {
        body = request.body ? JSON.parse(request.body) : {};
      } catch {
        return fail(400, "INVALID_JSON", "The body is not JSON");
      }
      if (!isObject(body)) return fail(400, "VALIDATION_ERROR", "The body must be a JSON object");
      const capabilityId = decodeURIComponent((invoke ?? action)![1]!);
      const entry = this.registered.get(capabilityId);
      const base = {
        requestId: headers["aiffinity-request-id"] ?? (typeof body.requestId === "string" ? body.requestId : ""),
        idempotencyKey: headers["idempotency-key"] ?? headers["aiffinity-request-id"] ?? (typeof body.requestId === "string" ? body.requestId : ""),
        capability: capabilityId,
        user: (isObject(body.user) ? body.user : { id: "anonymous" }) as unknown as UserContext,
        context: (isObject(body.context) ? body.context : {}) as CallContext,
        verification,
        headers,
      };
      if (invoke) {
        if (!entry?.handler) return fail(404, "NOT_FOUND", `No handler for capability '${capabilityId}'`);
        return await this.invoke(entry, { ...base, parameters: body.parameters ?? {} }, answer, fail);
      }
      const actionId = decodeURIComponent(action![2]!);
      const handler = entry?.actions.get(actionId);
      if (!entry || !handler) return fail(404, "NOT_FOUND", `No handler for action '${capabilityId}.${actionId}'`);
      const key = `${capabilityId}.${actionId}:${base.idempotencyKey}`;
      this.pruneReplays();
      const replay = base.idempotencyKey ? this.replays.get(key) : undefined;
      if (replay) return { ...(await replay.answer), verification };
      const running = this.runAction(entry, handler, { ...base, action: actionId, input: body.input ?? {} }, answer, fail);
      if (base.idempotencyKey) {
        this.replays.set(key, { at: Date.now(), answer: running });
        // Only successes are replayed: a failed action may be tried again with the same key.
        void running.then((r) => r.status >= 300 && this.replays.delete(key));
      }
      return await running;
    } catch (error) {
      this.logger.error("Unexpected error", { path, error: error instanceof Error ? error.stack : String(error) });
      return fail(500, "INTERNAL", "Unexpected error in the runtime");
    }
  }

  private async invoke(entry: Registered, request: InvokeRequest<unknown>, answer: Answer, fail: Fail): Promise<RuntimeResponse> {
    const { capability } = entry;
    const problem = capability.validateInput?.(request.parameters);
    if (problem) return fail(400, "VALIDATION_ERROR", `parameters${problem}`);
    const outcome = await this.run(() => entry.handler!(request), fail);
    if ("status" in outcome) return outcome;
    const result = outcome.value;
    if (!isObject(result) || !("data" in result)) return this.broken(`capability '${capability.id}' returned no { data }`, fail);
    if (this.options.validateOutput !== false && capability.validateOutput) {
      const bad = capability.validateOutput(result.data);
      if (bad) return this.broken(`capability '${capability.id}' returned data that breaks its outputSchema: data${bad}`, fail);
    }
    return answer(200, result.ttlSeconds === undefined ? { data: result.data } : { data: result.data, ttlSeconds: result.ttlSeconds });
  }

  private async runAction(entry: Registered, handler: ActionHandler<unknown, unknown>, request: ActionRequest<unknown>, answer: Answer, fail: Fail): Promise<RuntimeResponse> {
    const declared = entry.capability.actions.get(request.action)!;
    const problem = declared.validateInput(request.input);
    if (problem) return fail(400, "VALIDATION_ERROR", `input${problem}`);
    const outcome = await this.run(() => handler(request), fail);
    if ("status" in outcome) return outcome;
    const result = outcome.value;
    if (!isObject(result) || !("result" in result)) return this.broken(`action '${entry.capability.id}.${request.action}' returned no { result }`, fail);
    if (this.options.validateOutput !== false && declared.validateOutput) {
      const bad = declared.validateOutput(result.result);
      if (bad) return this.broken(`action '${entry.capability.id}.${request.action}' returned a result that breaks its outputSchema: result${bad}`, fail);
    }
    return answer(result.status === 201 ? 201 : 200, { result: result.result });
  }

  /** Runs a handler: its RuntimeErrors become answers, anything else a logged 500. */
  private async run<T>(fn: () => T | Promise<T>, fail: Fail): Promise<{ value: T } | RuntimeResponse> {
    try {
      return { value: await fn() };
    } catch (error) {
      if (error instanceof RuntimeError) return fail(error.status, error.code, error.message);
      this.logger.error("Handler failed", { error: error instanceof Error ? error.stack : String(error) });
      return fail(500, "INTERNAL", "The handler failed");
    }
  }

  /** Your handler broke the contract: answer 500 (the platform records an http_5xx) and say why in the log. */
  private broken(message: string, fail: Fail): RuntimeResponse {
    this.logger.error(message);
    return fail(500, "OUTPUT_INVALID", message);
  }

  private async deliver(headers: Record<string, string>, body: string, answer: Answer, fail: Fail): Promise<RuntimeResponse> {
    if (!this.signingSecrets.length) {
      this.logger.error("A webhook arrived but no signing secret is configured (runtime.signingSecret)");
      return fail(500, "NOT_CONFIGURED", "No signing secret is configured, so deliveries cannot be verified");
    }
    if (!verifyWebhookSignature(this.signingSecrets, headers, body)) return fail(401, "UNAUTHENTICATED", "Invalid webhook signature");
    const deliveryId = headers["webhook-id"]!;
    if (this.seenDeliveries.has(deliveryId)) return answer(204, null);
    let event: WebhookEvent;
    try {
      event = JSON.parse(body) as WebhookEvent;
    } catch {
      return fail(400, "INVALID_JSON", "The body is not JSON");
    }
    const handlers = [...(this.webhookHandlers.get(event.type) ?? []), ...(this.webhookHandlers.get("*") ?? [])];
    const outcome = await this.run(async () => {
      for (const handler of handlers) await handler(event, { deliveryId, headers });
    }, fail);
    if ("status" in outcome) return outcome; // a failing status: the platform retries the delivery
    this.seenDeliveries.set(deliveryId, Date.now());
    if (this.seenDeliveries.size > REPLAY_LIMIT) this.seenDeliveries.delete(this.seenDeliveries.keys().next().value!);
    return answer(204, null);
  }

  private pruneReplays() {
    const now = Date.now();
    for (const [key, { at }] of this.replays) {
      if (this.replays.size <= REPLAY_LIMIT && now - at < REPLAY_TTL_MS) break;
      this.replays.delete(key);
    }
  }
}

type Answer = (status: number, body: unknown, extra?: Record<string, string>) => RuntimeResponse;
type Fail = (status: number, code: string, message: string, extra?: Record<string, string>) => RuntimeResponse;

export const createRuntime = (options: RuntimeOptions = {}) => new Runtime(options);

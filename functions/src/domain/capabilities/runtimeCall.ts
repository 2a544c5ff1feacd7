import type { Clock } from "../../kernel/clock";
import { newId } from "../../kernel/crypto";
import { OutboundError, type OutboundResponse } from "../../kernel/outbound";
import { callProvider, ProviderAuthError } from "../runtime/providerClient";
import type { RuntimeApp } from "../runtime/runtimeApp";
import type { InvocationErrorClass } from "./invocation";
import { type CompiledCapability, schemaProblem } from "./compiled";

/**
 * One call of a capability on the provider's runtime (docs/provider-runtime.md), classified: what it
 * answered, or which failure class it was. Writes nothing: the engine records production calls,
 * the sandbox keeps traces. Used by both, so the sandbox calls runtimes exactly like production.
 */

/** Invocation responses are cached: up to 1 MiB from the runtime, up to 900 KiB of `data` (a Firestore document holds 1 MiB). */
const MAX_INVOKE_RESPONSE_BYTES = 1024 * 1024;
const MAX_CACHED_DATA_BYTES = 900 * 1024;
/** Action responses are stored for idempotent replays. */
const MAX_ACTION_RESPONSE_BYTES = 512 * 1024;

interface SentRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
}

interface ReceivedResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

interface CallBase {
  httpStatus: number | null;
  latencyMs: number;
  requestBytes: number;
  responseBytes: number;
  /** The response body parsed as JSON (undefined when there was none, or it was not JSON). */
  responseJson?: unknown;
  sent: SentRequest | null;
  received: ReceivedResponse | null;
}

export type CallResult =
  | (CallBase & { ok: true; errorClass: null; errorMessage: null; kind: "invoke"; data: unknown; providerTtlSeconds: number | undefined })
  | (CallBase & { ok: true; errorClass: null; errorMessage: null; kind: "action"; result: unknown })
  | (CallBase & { ok: false; errorClass: InvocationErrorClass; errorMessage: string });

export type CallTarget =
  | { kind: "invoke"; capability: CompiledCapability; body: Record<string, unknown> }
  | { kind: "action"; capability: CompiledCapability; action: string; body: Record<string, unknown> };

const OUTBOUND_CLASSES: Record<string, InvocationErrorClass> = {
  url_rejected: "url_rejected",
  timeout: "timeout",
  connection_refused: "connection_refused",
  network: "network",
  too_large: "too_large",
  bad_body: "bad_body",
  http_status: "http_5xx",
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * `context.idempotencyKey` names the logical call for the runtime (default: a new key for this
 * call). Invocations are state reads the key makes safe to resend after a reset connection;
 * actions are never resent by the platform, since the runtime may not deduplicate.
 */
export async function callCapability(
  runtime: RuntimeApp,
  target: CallTarget,
  context: { requestId: string; clock: Clock; idempotencyKey?: string },
): Promise<CallResult> {
  const capabilityId = target.capability.descriptor.id;
  const path =
    target.kind === "invoke"
      ? `/capabilities/${encodeURIComponent(capabilityId)}/invoke`
      : `/capabilities/${encodeURIComponent(capabilityId)}/actions/${encodeURIComponent(target.action)}`;
  const body = JSON.stringify(target.body);
  const requestBytes = Buffer.byteLength(body);
  let sent: SentRequest | null = null;
  const started = performance.now();
  const base = (over: Partial<CallBase>): CallBase => ({
    httpStatus: null,
    latencyMs: Math.round(performance.now() - started),
    requestBytes,
    responseBytes: 0,
    sent,
    received: null,
    ...over,
  });
  const fail = (errorClass: InvocationErrorClass, errorMessage: string, over: Partial<CallBase> = {}): CallResult => ({
    ok: false,
    errorClass,
    errorMessage,
    ...base(over),
  });

  let response: OutboundResponse;
  try {
    response = await callProvider(runtime, {
      path,
      method: "POST",
      body,
      requestId: context.requestId,
      idempotencyKey: context.idempotencyKey ?? newId("idk"),
      resendable: target.kind === "invoke",
      clock: context.clock,
      timeoutMs: target.capability.descriptor.deadlineMs,
      maxResponseBytes: target.kind === "invoke" ? MAX_INVOKE_RESPONSE_BYTES : MAX_ACTION_RESPONSE_BYTES,
      onSend: (s) => {
        sent = s;
      },
    });
  } catch (error) {
    if (error instanceof ProviderAuthError) {
      // The token URL is a target like any other: refused by the same address rules.
      if (error.cause?.kind === "url_rejected")
        return fail("url_rejected", `The auth profile's token URL is not an allowed target: ${error.cause.message}`);
      return fail("auth_failed", `Could not authenticate to the runtime: ${error.message}`);
    }
    if (!(error instanceof OutboundError)) throw error;
    const over = error.details.durationMs === undefined ? {} : { latencyMs: error.details.durationMs };
    if (error.kind === "too_large")
      return fail("too_large", `The runtime's response exceeds ${target.kind === "invoke" ? "1 MiB" : "512 KiB"}`, {
        ...over,
        responseBytes: target.kind === "invoke" ? MAX_INVOKE_RESPONSE_BYTES : MAX_ACTION_RESPONSE_BYTES,
      });
    if (error.kind === "timeout")
      return fail("timeout", `The runtime did not answer within the capability's deadline of ${target.capability.descriptor.deadlineMs} ms`, over);
    return fail(OUTBOUND_CLASSES[error.kind] ?? "network", error.message, over);
  }

  const received: ReceivedResponse = { status: response.status, headers: Object.fromEntries(response.headers.entries()), body: response.body };
  const answered: Partial<CallBase> = { httpStatus: response.status, latencyMs: response.durationMs, responseBytes: response.body.length, received };
  let json: unknown;
  try {
    json = response.body.length ? response.json() : undefined;
  } catch {
    json = undefined;
  }
  answered.responseJson = json;

  const status = response.status;
  if (status === 401 || status === 403)
    return fail("auth_failed", `The runtime answered HTTP ${status}: it did not accept the auth profile's credentials`, answered);
  if (status >= 500) return fail("http_5xx", `The runtime answered HTTP ${status}`, answered);
  if (status >= 400) return fail("http_4xx", `The runtime answered HTTP ${status}`, answered);
  if (status < 200 || status > 299) return fail("bad_body", `The runtime answered HTTP ${status} (redirects are not followed)`, answered);
  if (json === undefined) return fail("bad_body", `The runtime's response is not valid JSON (${response.body.length} bytes)`, answered);
  if (!isObject(json)) return fail("bad_body", "The runtime's response is not a JSON object", answered);

  if (target.kind === "action") {
    if (!("result" in json)) return fail("bad_body", "The runtime's response has no `result`", answered);
    return { ok: true, kind: "action", errorClass: null, errorMessage: null, result: json.result, ...base(answered) };
  }
  if (!("data" in json)) return fail("bad_body", "The runtime's response has no `data`", answered);
  const ttl = json.ttlSeconds;
  if (ttl !== undefined && (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl < 0))
    return fail("bad_body", "`ttlSeconds` must be a non-negative number", answered);
  const problem = schemaProblem(target.capability.output, json.data);
  if (problem) return fail("output_invalid", `\`data\` does not match the capability's outputSchema: ${problem}`, answered);
  if (Buffer.byteLength(JSON.stringify(json.data)) > MAX_CACHED_DATA_BYTES)
    return fail("too_large", "`data` exceeds 900 KiB, the most a capability state may hold", answered);
  return {
    ok: true,
    kind: "invoke",
    errorClass: null,
    errorMessage: null,
    data: json.data,
    providerTtlSeconds: ttl as number | undefined,
    ...base(answered),
  };
}

import { z } from "zod";
import type { Surface } from "../../kernel/http/surface";
import { qualityRoutes } from "./quality/routes";
import { sandboxRoutes } from "./sandbox/routes";
import { oauthApp, tokenSubject } from "../../domain/accounts/principals";
import { ApiError } from "../../kernel/errors";
import { listRoute, rawRoute, reply, route, STREAMED, type AnyRoute } from "../../kernel/http/route";
import { streamStateChanges } from "./realtime";
import { assertDeclared, findVisibleCapability } from "./resolve";
import {
  ActionBody,
  ActionOut,
  CapabilityParams,
  CapabilityStateOut,
  HistoryQuery,
  IdempotencyKeyHeader,
  InvocationOut,
  InvokeBody,
  InvokeOut,
  RealtimeQuery,
  StateQuery,
} from "./schemas";
import { type CapabilityReads, CapabilitiesService, startCapabilityReads } from "./service";
import { queryOf } from "../../kernel/http/surface";
import type { Request } from "express";
import { findBinding } from "../../domain/capabilities/binding";

const tags = ["Provider Capabilities"];
const CAPABILITY = "/v1/providers/capabilities/:id";
const PROVIDER_ERRORS = [
  "NOT_FOUND",
  "CONFLICT",
  "RUNTIME_NOT_AVAILABLE",
  "RUNTIME_ENDPOINT_REJECTED",
  "PROVIDER_TIMEOUT",
  "PROVIDER_UNREACHABLE",
  "PROVIDER_ERROR",
  "PROVIDER_AUTH_FAILED",
  "PROVIDER_BAD_RESPONSE",
  "PROVIDER_RESPONSE_TOO_LARGE",
] as const;

/** Invoke, state, action, history and realtime (docs/capabilities.md). */
function invocationRoutes(service: CapabilitiesService): AnyRoute[] {
  // Invoke's and GET state's reads, started by their prefetch (validated input only), taken by their handler.
  const prefetched = new WeakMap<Request, CapabilityReads>();
  return [
    route({
      method: "post",
      operationId: "invokeCapability",
      path: `${CAPABILITY}/invoke`,
      summary: "Invoke a capability",
      description:
        "Calls `POST {endpointUrl}/capabilities/{capability}/invoke` on your runtime (docs/provider-runtime.md) with your auth profile's credentials, within the capability's deadline. " +
        "With `bindingId`: for that capability instance (its parameters and user), served from its state while fresh (unless `refresh`), concurrent invokes coalesced into one call, the state updated. " +
        "Without: a provider-initiated call of the published version for a mock `user`. Provider failures answer a distinct 502/504 error; every call is recorded in the history.",
      tags,
      auth: oauthApp,
      params: CapabilityParams,
      body: InvokeBody,
      response: InvokeOut,
      errors: [...PROVIDER_ERRORS],
      prefetch: (req, reads) => {
        const params = CapabilityParams.safeParse(req.params);
        const body = InvokeBody.safeParse(req.body);
        if (params.success && body.success)
          prefetched.set(req, startCapabilityReads(params.data.id, body.data.bindingId, tokenSubject(req)?.appId, reads));
      },
      handler: async ({ principal, params, body, requestId, req }) => service.invoke(principal, params.id, body, requestId, prefetched.get(req)),
    }),
    route({
      method: "get",
      operationId: "getCapabilityState",
      path: `${CAPABILITY}/state`,
      summary: "The cached state of a capability instance",
      description: "The `data` of the instance's last successful invocation, its TTL and what remains of it (`?bindingId` names the instance).",
      tags,
      auth: oauthApp,
      params: CapabilityParams,
      query: StateQuery,
      response: CapabilityStateOut,
      errors: ["NOT_FOUND"],
      prefetch: (req, reads) => {
        const params = CapabilityParams.safeParse(req.params);
        const query = StateQuery.safeParse(queryOf(req));
        if (params.success && query.success) prefetched.set(req, startCapabilityReads(params.data.id, query.data.bindingId, undefined, reads));
      },
      handler: async ({ principal, params, query, req }) => service.state(principal, params.id, query.bindingId, prefetched.get(req)),
    }),
    route({
      method: "post",
      operationId: "runCapabilityAction",
      path: `${CAPABILITY}/action`,
      summary: "Run a declared action",
      description:
        "Calls `POST {endpointUrl}/capabilities/{capability}/actions/{action}`; only actions the capability's descriptor declares, `input` validated against the action's inputSchema. " +
        "Send an `Idempotency-Key` header to make retries safe: the first response is replayed for 24 hours (`Idempotent-Replayed: true`); the same key with another request answers 422.",
      tags,
      auth: oauthApp,
      params: CapabilityParams,
      headers: z.object({
        "idempotency-key": IdempotencyKeyHeader.optional().meta({
          description: "Makes retries safe: the first response to this key is replayed for 24 hours (docs/capabilities.md#idempotency).",
        }),
      }),
      body: ActionBody,
      response: ActionOut,
      errors: [...PROVIDER_ERRORS, "IDEMPOTENCY_KEY_REUSED", "IDEMPOTENCY_KEY_IN_USE"],
      handler: async ({ principal, params, body, req, requestId }) => {
        const { response, replayed } = await service.action(principal, params.id, body, req.get("idempotency-key"), requestId);
        const headers: Record<string, string> = replayed ? { "Idempotent-Replayed": "true" } : {};
        if (response.status >= 400) {
          const { code, message } = (response.body as { error: { code: ApiError["code"]; message: string } }).error;
          throw new ApiError(code, message, { headers });
        }
        return reply(response.body as z.input<typeof ActionOut>, { status: response.status, headers });
      },
    }),
    listRoute({
      method: "get",
      operationId: "listCapabilityInvocations",
      path: `${CAPABILITY}/history`,
      summary: "Invocation history",
      description:
        "The capability's invocations, newest first, with status, latency and error details: the last 100 by default. `?bindingId`, `?since` (ISO 8601), `?limit` (≤ 100) and `?offset`.",
      tags,
      auth: oauthApp,
      params: CapabilityParams,
      query: HistoryQuery,
      response: InvocationOut,
      errors: ["NOT_FOUND"],
      handler: async ({ principal, params, query }) => service.history(principal, params.id, query),
    }),
    rawRoute({
      method: "get",
      operationId: "streamCapabilityState",
      path: `${CAPABILITY}/realtime`,
      summary: "Stream state changes (Server-Sent Events)",
      description:
        "A `text/event-stream` of state changes as they are committed: `ready` first (the instance's current state), then `state.updated`, `state.invalidated` and `state.deleted`, each with an `id`. " +
        "Reconnect with `Last-Event-ID` to resume without loss or duplicates. Heartbeat comments every 15 s; `retry: 3000`. " +
        "Production clients must use the function's direct URL (https://us-central1-<project>.cloudfunctions.net/capabilitiesApi/...): Firebase Hosting buffers streamed responses.",
      tags,
      auth: oauthApp,
      params: CapabilityParams,
      query: RealtimeQuery,
      headers: z.object({
        "last-event-id": z.string().max(200).optional().meta({ description: "Resume after this event (sent by EventSource clients on reconnect)." }),
      }),
      response: z.string().meta({ description: "Server-Sent Events (docs/capabilities.md#realtime)" }),
      contentType: "text/event-stream",
      errors: ["NOT_FOUND"],
      handler: async ({ principal, params, query, req, res }) => {
        const handle = await findVisibleCapability(principal, params.id);
        if (query.bindingId) {
          const binding = await findBinding(query.bindingId);
          if (!binding || binding.capabilityKey !== handle.key)
            throw new ApiError("NOT_FOUND", `No binding '${query.bindingId}' of capability '${handle.ref}'`);
        } else await assertDeclared(handle);
        await streamStateChanges({ req, res, handle, bindingId: query.bindingId, lastEventId: req.get("last-event-id") ?? query.lastEventId });
        return STREAMED;
      },
    }),
  ];
}

/**
 * The Provider Capabilities API (docs/capabilities.md, docs/sandbox.md, docs/quality.md). Each part lists its own
 * routes; fixed first segments (`sandbox`, `baselines`, ...) never collide with `:id`, which always has a dot.
 */
export function capabilitiesSurface(service = new CapabilitiesService()): Surface {
  return { name: "capabilities", routes: [...invocationRoutes(service), ...sandboxRoutes(), ...qualityRoutes()] };
}

import type { z } from "zod";
import type { OAuthAppPrincipal } from "../../domain/accounts/principals";
import { type Clock, systemClock } from "../../kernel/clock";
import { sha256Hex } from "../../kernel/crypto";
import { ApiError, conflict, ERROR_CATALOGUE, type ErrorCode } from "../../kernel/errors";
import type { Page } from "../../kernel/http/envelope";
import { IdempotencyKeys, type IdempotentRun } from "../../kernel/idempotency";
import { type CallOutcome, type CapabilityInfo, type InvokeOutcome, type StateView } from "../../domain/capabilities/invoker";
import { CapabilityInvoker, freshOutcome } from "../../domain/capabilities/invoker";
import { runtimeAppOf } from "../../domain/runtime/runtimeApp";
import { type Binding } from "../../domain/capabilities/binding";
import { type InvocationErrorClass } from "../../domain/capabilities/invocation";
import { findBinding } from "../../domain/capabilities/binding";
import { type CapabilityStateDoc, findState, effectiveTtlSeconds, freshnessAt } from "../../domain/capabilities/state";
import { listInvocations } from "../../domain/capabilities/invocation";
import { type Version } from "../../domain/packages/version";
import { type RuntimeApp } from "../../domain/runtime/runtimeApp";
import { speculative } from "../../kernel/concurrency";
import type { ReadBatch } from "../../kernel/firestore";
import {
  assertDeclared,
  assertValid,
  type CapabilityHandle,
  type CapabilityRead,
  capabilityInVersion,
  findVisibleCapability,
  publishedCapability,
  readCapability,
  readPublishedVersion,
  visibleCapability,
} from "./resolve";
import {
  type ActionBody,
  type ActionOut,
  type CapabilityStateOut,
  type HistoryQuery,
  type InvocationOut,
  type InvokeBody,
  type InvokeOut,
  toInvocationOut,
  toLastErrorOut,
} from "./schemas";

/** The API error each failure class answers with (docs/capabilities.md#errors). */
export const ERROR_CODE_OF_CLASS: Record<InvocationErrorClass, ErrorCode> = {
  timeout: "PROVIDER_TIMEOUT",
  connection_refused: "PROVIDER_UNREACHABLE",
  network: "PROVIDER_UNREACHABLE",
  url_rejected: "RUNTIME_ENDPOINT_REJECTED",
  auth_failed: "PROVIDER_AUTH_FAILED",
  http_4xx: "PROVIDER_ERROR",
  http_5xx: "PROVIDER_ERROR",
  bad_body: "PROVIDER_BAD_RESPONSE",
  output_invalid: "PROVIDER_BAD_RESPONSE",
  too_large: "PROVIDER_RESPONSE_TOO_LARGE",
  runtime_paused: "RUNTIME_NOT_AVAILABLE",
};

const invocationError = (errorClass: InvocationErrorClass, message: string, invocationId: string) =>
  new ApiError(ERROR_CODE_OF_CLASS[errorClass], `${message} (${errorClass}; invocation ${invocationId})`);

const infoOf = (h: CapabilityHandle): CapabilityInfo => ({
  key: h.key,
  ref: h.ref,
  packageId: h.pkg.id,
  capabilityId: h.capabilityId,
  accountId: h.pkg.accountId,
  appId: h.pkg.appId,
});

const toInvokeOut = (ref: string, origin: "provider" | "coalesced" | "cache", s: StateView): z.input<typeof InvokeOut> => ({
  capability: ref,
  bindingId: s.bindingId,
  versionId: s.versionId,
  invocationId: s.invocationId,
  origin,
  data: s.data,
  ttlSeconds: s.ttlSeconds,
  fetchedAt: s.fetchedAt.toISOString(),
  expiresAt: s.expiresAt.toISOString(),
  latencyMs: s.latencyMs,
});

/**
 * What an invoke or a GET state answers from, started as soon as the caller's token is verified, in
 * the same round trip as the app and account reads (the routes' prefetch), or by the handler. None
 * of it is answered before the caller is authorised: the package must be the caller's app's, the
 * binding one of that capability's; anything else answers 404 exactly as if it did not exist.
 */
export interface CapabilityReads {
  capability: Promise<CapabilityRead | null>;
  /** With a binding: the binding and its state. */
  instance: Promise<[Binding | null, CapabilityStateDoc | null]> | null;
  /** Without: the package's published version and the runtime of the app the token names. */
  version: Promise<Version | null> | null;
  runtime: { appId: string; app: Promise<RuntimeApp | null> } | null;
}

/**
 * Starts the reads of a capability request (`appId`: the token's app, whose runtime a call without
 * binding uses; `reads`: the authentication's batch of lookups, which these join).
 */
export function startCapabilityReads(ref: string, bindingId: string | undefined, appId: string | undefined, reads?: ReadBatch): CapabilityReads {
  const capability = speculative(readCapability(ref, reads));
  if (bindingId !== undefined) {
    const instance = Promise.all([findBinding(bindingId, reads), findState(bindingId, reads)]);
    return { capability, instance: speculative(instance), version: null, runtime: null };
  }
  return {
    capability,
    instance: null,
    version: speculative(readPublishedVersion(capability)),
    runtime: appId === undefined ? null : { appId, app: speculative(runtimeAppOf(appId)) },
  };
}

const instanceOf = (reads: CapabilityReads, bindingId: string) => reads.instance ?? Promise.all([findBinding(bindingId), findState(bindingId)]);

/** Operation name of actions in idempotency records. */
const ACTION_OPERATION = "capabilities.action";
/** How long an action may hold its Idempotency-Key beyond its deadline before a retry may take over. */
const IDEMPOTENCY_LEASE_MARGIN_MS = 15_000;

export class CapabilitiesService {
  constructor(
    private readonly clock: Clock = systemClock,
    private readonly invoker = new CapabilityInvoker(clock),
    private readonly idempotency = new IdempotencyKeys(clock),
  ) {}

  /** A binding of this capability (any user of the provider's package); 404 otherwise. */
  private async binding(handle: CapabilityHandle, bindingId: string): Promise<Binding> {
    return this.ownBinding(handle, bindingId, await findBinding(bindingId));
  }

  /** The binding if it is an active binding of this capability (so of the caller's app); 404 otherwise. */
  private ownBinding(handle: CapabilityHandle, bindingId: string, binding: Binding | null): Binding {
    if (!binding || binding.capabilityKey !== handle.key || binding.status !== "active") {
      throw new ApiError("NOT_FOUND", `No binding '${bindingId}' of capability '${handle.ref}'`);
    }
    return binding;
  }

  /**
   * `reads`: started by the route's prefetch with the authentication's reads (one round trip for
   * all), or here. With a binding, a fresh state answers from them at once; without, the published
   * version is cached per instance, so the runtime is called right after that round trip.
   */
  async invoke(
    principal: OAuthAppPrincipal,
    ref: string,
    body: InvokeBody,
    requestId: string,
    reads: CapabilityReads = startCapabilityReads(ref, body.bindingId, principal.appId),
  ): Promise<z.input<typeof InvokeOut>> {
    const handle = visibleCapability(principal, ref, await reads.capability);
    if (body.bindingId !== undefined) {
      const [found, state] = await instanceOf(reads, body.bindingId);
      const binding = this.ownBinding(handle, body.bindingId, found);
      const options = { source: "api" as const, force: body.refresh ?? false, requestId, clock: this.clock };
      return this.fromOutcome(
        handle,
        freshOutcome(binding, state, options, this.clock.now()) ?? (await this.invoker.invokeBinding(binding, options)),
      );
    }
    // The runtime read for the token's app is the package's: visibleCapability checked they are the same app.
    const runtimeRead = reads.runtime?.appId === handle.pkg.appId ? reads.runtime.app : runtimeAppOf(handle.pkg.appId);
    const [capability, runtime] = await Promise.all([publishedCapability(handle, reads.version ?? undefined), runtimeRead]);
    const parameters = body.parameters ?? {};
    assertValid(capability.input, parameters, "parameters", "input");
    const outcome = await this.invoker.invokeUnbound(infoOf(handle), capability, { parameters, user: body.user!, requestId, runtime });
    const r = outcome.result;
    if (!r.ok || r.kind !== "invoke")
      throw invocationError(r.errorClass ?? "bad_body", r.errorMessage ?? "The invocation failed", outcome.invocationId);
    const ttlSeconds = effectiveTtlSeconds(r.providerTtlSeconds, capability.descriptor.refreshIntervalSeconds);
    return toInvokeOut(handle.ref, "provider", {
      bindingId: null,
      versionId: capability.version.id,
      data: r.data,
      ttlSeconds,
      fetchedAt: outcome.finishedAt,
      expiresAt: new Date(outcome.finishedAt.getTime() + ttlSeconds * 1000),
      invocationId: outcome.invocationId,
      latencyMs: r.latencyMs,
    });
  }

  private fromOutcome(handle: CapabilityHandle, outcome: InvokeOutcome): z.input<typeof InvokeOut> {
    switch (outcome.status) {
      case "ok":
        return toInvokeOut(handle.ref, outcome.origin, outcome.state);
      case "error":
        throw invocationError(outcome.errorClass, outcome.message, outcome.invocationId);
      case "skipped":
        if (outcome.reason === "binding_removed") throw new ApiError("NOT_FOUND", outcome.message);
        throw conflict(outcome.message);
    }
  }

  async state(
    principal: OAuthAppPrincipal,
    ref: string,
    bindingId: string,
    reads: CapabilityReads = startCapabilityReads(ref, bindingId, undefined),
  ): Promise<z.input<typeof CapabilityStateOut>> {
    // Nothing is answered before the binding is known to be the caller's.
    const handle = visibleCapability(principal, ref, await reads.capability);
    const [binding, state] = await instanceOf(reads, bindingId);
    this.ownBinding(handle, bindingId, binding);
    const now = this.clock.now();
    const freshness = freshnessAt(state, now);
    const hasData = state !== null && state.dataJson !== null && state.fetchedAt !== null;
    return {
      capability: handle.ref,
      bindingId,
      status: freshness.status,
      data: hasData ? JSON.parse(state.dataJson!) : null,
      versionId: hasData ? state.versionId : null,
      invocationId: state?.invocationId ?? null,
      fetchedAt: state?.fetchedAt?.toISOString() ?? null,
      expiresAt: freshness.expiresAt?.toISOString() ?? null,
      ttlSeconds: hasData ? state.ttlSeconds : 0,
      ttlRemainingSeconds: freshness.remainingSeconds,
      invalidatedAt: state?.invalidatedAt?.toISOString() ?? null,
      refreshing: Boolean(state?.refresh && state.refresh.leaseUntil.getTime() > now.getTime()),
      lastError: toLastErrorOut(state?.lastAttempt ?? null),
    };
  }

  /**
   * Runs a declared action. With an Idempotency-Key the first response (success or provider failure)
   * is stored and replayed; requests refused before the runtime was called store nothing.
   */
  async action(
    principal: OAuthAppPrincipal,
    ref: string,
    body: ActionBody,
    idempotencyKey: string | undefined,
    requestId: string,
  ): Promise<IdempotentRun> {
    const handle = await findVisibleCapability(principal, ref);
    const binding = body.bindingId !== undefined ? await this.binding(handle, body.bindingId) : null;
    const [capability, runtime] = await Promise.all([
      binding ? capabilityInVersion(handle, binding.versionId) : publishedCapability(handle),
      runtimeAppOf(handle.pkg.appId),
    ]);
    const action = capability.actions.get(body.action);
    if (!action) {
      const declared = [...capability.actions.keys()];
      const message = `Not declared by this capability (declared: ${declared.length ? declared.join(", ") : "none"})`;
      throw new ApiError("VALIDATION_ERROR", `action: ${message}`, { details: [{ field: "action", message }] });
    }
    assertValid(action.input, body.input, "input", "action's input");

    const execute = async () => {
      const outcome = await this.invoker.runAction(infoOf(handle), capability, {
        action: body.action,
        input: body.input,
        binding,
        user: body.user ?? null,
        requestId,
        source: "api",
        runtime,
        // The caller's key, made the runtime's: a retry that takes over a crashed attempt sends the same one.
        ...(idempotencyKey === undefined
          ? {}
          : { idempotencyKey: `idk_${sha256Hex(`${principal.appId}\n${handle.ref}\n${idempotencyKey}`).slice(0, 40)}` }),
      });
      return this.actionResponse(handle, capability.version.id, body, outcome);
    };
    if (idempotencyKey === undefined) return { response: await execute(), replayed: false };
    return this.idempotency.run({
      scope: principal.appId,
      key: idempotencyKey,
      operation: ACTION_OPERATION,
      request: { capability: handle.ref, body },
      leaseMs: capability.descriptor.deadlineMs + IDEMPOTENCY_LEASE_MARGIN_MS,
      execute,
    });
  }

  /** The response to send (and store): the result, or the provider failure as an error body. */
  private actionResponse(handle: CapabilityHandle, versionId: string, body: ActionBody, outcome: CallOutcome) {
    const r = outcome.result;
    if (r.ok && r.kind === "action") {
      const data: z.input<typeof ActionOut> = {
        capability: handle.ref,
        action: body.action,
        bindingId: body.bindingId ?? null,
        versionId,
        invocationId: outcome.invocationId,
        httpStatus: r.httpStatus!,
        result: r.result,
        latencyMs: r.latencyMs,
      };
      return { status: 200, body: data };
    }
    const error = invocationError(r.errorClass ?? "bad_body", r.errorMessage ?? "The action failed", outcome.invocationId);
    // Nothing reached the runtime (paused, endpoint refused, no token): not stored, the key stays usable.
    if (r.sent === null) throw error;
    return { status: ERROR_CATALOGUE[error.code].status, body: { error: { code: error.code, message: error.message } } };
  }

  async history(principal: OAuthAppPrincipal, ref: string, query: z.output<typeof HistoryQuery>): Promise<Page<z.input<typeof InvocationOut>>> {
    const handle = await findVisibleCapability(principal, ref);
    await assertDeclared(handle);
    const { items, total } = await listInvocations({
      capabilityKey: handle.key,
      bindingId: query.bindingId,
      since: query.since ? new Date(query.since) : undefined,
      limit: query.limit,
      offset: query.offset,
    });
    return { items: items.map(toInvocationOut), total, limit: query.limit, offset: query.offset };
  }
}

import type { Transaction } from "firebase-admin/firestore";
import { type Clock, systemClock } from "../../kernel/clock";
import { newId } from "../../kernel/crypto";
import { db } from "../../kernel/firebase";
import { waitForDocument } from "../../kernel/firestore";
import { newRequestId } from "../../kernel/http/surface";
import { log } from "../../kernel/logger";
import { findPackage } from "../packages/package";
import { findVersion } from "../packages/version";
import { type RuntimeApp, runtimeAppOf, runtimeApps } from "../runtime/runtimeApp";
import { type Binding, capabilityBindings, findBinding } from "./binding";
import { type CompiledCapability, compileCapability, schemaProblem } from "./compiled";
import { type InvocationDoc, type InvocationErrorClass, invocations } from "./invocation";
import { type CallResult, callCapability } from "./runtimeCall";
import { capabilityStates, type CapabilityStateDoc, effectiveTtlSeconds, findState, freshnessAt, type LastAttempt, nextSyncAt } from "./state";
import { writeStateEvent } from "./stateEvents";

/**
 * The capability invoker: calls provider runtimes for capability instances (bindings) and for the
 * provider itself, records every call in `invocations`, keeps each binding's cached state in
 * `capabilityStates` with a change event in `capabilityEvents`, and coalesces concurrent refreshes
 * of one instance (docs/capabilities.md). Provider failures never throw: outcomes say what happened.
 */

/** A refresh lease lasts the capability's deadline plus this margin (the leader's bookkeeping). */
const LEASE_MARGIN_MS = 5_000;
/** lastInvokedAt on the runtime app is written at most this often (a hot document otherwise). */
const LAST_INVOKED_GRANULARITY_MS = 10_000;
/**
 * When this instance last wrote (or began writing) each runtime app's lastInvokedAt. Concurrent
 * calls all read the old stamp; without this each would write it, and while one write waits for the
 * document's lock every new call joins the queue (a soak at 200 clients stalled invoke that way).
 */
const lastTouchedMs = new Map<string, number>();

export interface StateView {
  /** Null for provider-initiated invocations (no instance). */
  bindingId: string | null;
  versionId: string;
  data: unknown;
  ttlSeconds: number;
  fetchedAt: Date;
  expiresAt: Date;
  invocationId: string;
  latencyMs: number;
}

type InvokeOrigin = "provider" | "coalesced" | "cache";

export type InvokeOutcome =
  | { status: "ok"; origin: InvokeOrigin; invocationId: string; state: StateView }
  | {
      status: "error";
      origin: "provider" | "coalesced";
      invocationId: string;
      errorClass: InvocationErrorClass;
      message: string;
      httpStatus: number | null;
      /** The last good state, if any (still served by GET state). */
      state: StateView | null;
    }
  | { status: "skipped"; reason: "binding_removed" | "capability_missing" | "parameters_invalid"; message: string };

export interface InvokeBindingOptions {
  /** Who asked: the scheduler (sync), the provider through the API (api), an Aiffinity client (user). */
  source: "sync" | "api" | "user";
  clock?: Clock;
  /** Call the runtime even if the state is fresh (still joins a refresh already in flight). */
  force?: boolean;
  /** Sent as `aiffinity-request-id` (default: a new one). */
  requestId?: string;
}

/** What a provider-initiated call (no binding) or an action returns. */
export interface CallOutcome {
  invocationId: string;
  result: CallResult;
  finishedAt: Date;
}

export interface CapabilityInfo {
  key: string;
  ref: string;
  packageId: string;
  capabilityId: string;
  accountId: string;
  appId: string;
}

type Source = InvocationDoc["source"];

/** The failure recorded when the runtime cannot be called at all. */
function unavailable(runtime: RuntimeApp | null, appId: string): CallResult {
  const errorMessage = runtime
    ? `The runtime app ${runtime.id} is paused: set its status to active (PATCH /v1/providers/runtime/apps/${runtime.id})`
    : `No runtime app is registered for app ${appId}: register one (POST /v1/providers/runtime/apps)`;
  return {
    ok: false,
    errorClass: "runtime_paused",
    errorMessage,
    httpStatus: null,
    latencyMs: 0,
    requestBytes: 0,
    responseBytes: 0,
    sent: null,
    received: null,
  };
}

const usable = (runtime: RuntimeApp | null): runtime is RuntimeApp => runtime !== null && runtime.status === "active";

function invocationDoc(
  info: CapabilityInfo,
  args: {
    versionId: string;
    bindingId: string | null;
    kind: "invoke" | "action";
    action: string | null;
    source: Source;
    result: CallResult;
    at: Date;
  },
): InvocationDoc {
  const r = args.result;
  return {
    capabilityKey: info.key,
    capabilityRef: info.ref,
    packageId: info.packageId,
    capabilityId: info.capabilityId,
    versionId: args.versionId,
    accountId: info.accountId,
    appId: info.appId,
    bindingId: args.bindingId,
    kind: args.kind,
    action: args.action,
    source: args.source,
    status: r.ok ? "ok" : "error",
    httpStatus: r.httpStatus,
    errorClass: r.ok ? null : r.errorClass,
    errorMessage: r.ok ? null : r.errorMessage,
    latencyMs: r.latencyMs,
    requestBytes: r.requestBytes,
    responseBytes: r.responseBytes,
    at: args.at,
  };
}

function logInvocation(invocationId: string, doc: InvocationDoc) {
  log.capabilityInvocation({
    invocationId,
    capabilityKey: doc.capabilityKey,
    kind: doc.kind,
    source: doc.source,
    status: doc.status,
    errorClass: doc.errorClass,
    httpStatus: doc.httpStatus,
    latencyMs: doc.latencyMs,
    requestBytes: doc.requestBytes,
    responseBytes: doc.responseBytes,
  });
}

const infoOfBinding = (b: Binding): CapabilityInfo => ({
  key: b.capabilityKey,
  ref: b.capabilityRef,
  packageId: b.packageId,
  capabilityId: b.capabilityId,
  accountId: b.accountId,
  appId: b.appId,
});

function stateView(bindingId: string, s: CapabilityStateDoc): StateView | null {
  if (!s.fetchedAt || s.dataJson === null || !s.invocationId) return null;
  return {
    bindingId,
    versionId: s.versionId,
    data: JSON.parse(s.dataJson),
    ttlSeconds: s.ttlSeconds,
    fetchedAt: s.fetchedAt,
    expiresAt: new Date(s.fetchedAt.getTime() + s.ttlSeconds * 1000),
    invocationId: s.invocationId,
    latencyMs: s.latencyMs ?? 0,
  };
}

function outcomeOfAttempt(bindingId: string, state: CapabilityStateDoc, attempt: LastAttempt, origin: "provider" | "coalesced"): InvokeOutcome {
  const view = stateView(bindingId, state);
  if (attempt.status === "ok" && view) return { status: "ok", origin, invocationId: attempt.invocationId, state: view };
  return {
    status: "error",
    origin,
    invocationId: attempt.invocationId,
    errorClass: attempt.errorClass ?? "bad_body",
    message: attempt.errorMessage ?? "The invocation failed",
    httpStatus: attempt.httpStatus,
    state: view,
  };
}

// Refreshes in flight in this instance, per binding: concurrent invokes share one (the Firestore
// lease does the same across instances).
const inflight = new Map<string, Promise<InvokeOutcome>>();

/**
 * What invoking the binding answers without calling the provider, when its stored state is fresh
 * for its version (a state only exists for a capability its version declares; versions never
 * change), or null when it must be fetched. Callers that read the binding and its state together
 * answer fresh invocations in one round of reads.
 */
export function freshOutcome(
  binding: Binding,
  state: CapabilityStateDoc | null,
  options: Pick<InvokeBindingOptions, "force" | "source">,
  now: Date,
): InvokeOutcome | null {
  if (
    !state ||
    options.force ||
    options.source === "sync" ||
    binding.status !== "active" ||
    state.versionId !== binding.versionId ||
    freshnessAt(state, now).status !== "fresh"
  )
    return null;
  log.capabilityCoalesced(binding.capabilityKey, "cache");
  return { status: "ok", origin: "cache", invocationId: state.invocationId!, state: stateView(binding.id, state)! };
}

type Claim =
  | { kind: "cached"; state: CapabilityStateDoc }
  | { kind: "wait"; leaseId: string; leaseUntil: Date }
  | { kind: "lead"; leaseId: string }
  | { kind: "removed" };

export class CapabilityInvoker {
  constructor(private readonly clock: Clock = systemClock) {}

  /** Records a call that is not about a binding's state: a provider-initiated invoke or any action. */
  private async recordCall(
    info: CapabilityInfo,
    args: {
      versionId: string;
      bindingId: string | null;
      kind: "invoke" | "action";
      action: string | null;
      source: Source;
      result: CallResult;
      runtime: RuntimeApp | null;
    },
  ): Promise<CallOutcome> {
    const finishedAt = this.clock.now();
    const invocationId = newId("inv");
    const doc = invocationDoc(info, { ...args, at: finishedAt });
    const invalidate = args.kind === "action" && args.result.ok && args.bindingId !== null;
    // The runtime's health stamp is independent of the record: written alongside it, not after.
    const touched = this.touchRuntime(args.runtime, args.result);
    if (!invalidate) await invocations().doc(invocationId).create(doc);
    else {
      await db().runTransaction(async (tx) => {
        const [state, binding] = await Promise.all([findState(args.bindingId!, tx), findBinding(args.bindingId!, tx)]);
        tx.create(invocations().doc(invocationId), doc);
        // An action changed the user's data at the provider: the instance's cached data is stale now.
        if (state && binding && binding.status === "active") {
          const invalidated = { ...state, invalidatedAt: finishedAt, updatedAt: finishedAt };
          tx.update(capabilityStates().doc(args.bindingId!), { invalidatedAt: finishedAt, updatedAt: finishedAt });
          writeStateEvent(tx, info, args.bindingId!, "state.invalidated", invalidated, finishedAt);
        }
      });
    }
    logInvocation(invocationId, doc);
    await touched;
    return { invocationId, result: args.result, finishedAt };
  }

  /** Updates the runtime app's lastInvokedAt (health report), at most every 10 s. */
  private async touchRuntime(runtime: RuntimeApp | null, result: CallResult) {
    if (!usable(runtime) || result.sent === null) return;
    const now = this.clock.now();
    const last = Math.max(runtime.lastInvokedAt?.getTime() ?? -Infinity, lastTouchedMs.get(runtime.id) ?? -Infinity);
    if (now.getTime() - last < LAST_INVOKED_GRANULARITY_MS) return;
    if (lastTouchedMs.size > 10_000) lastTouchedMs.clear();
    lastTouchedMs.set(runtime.id, now.getTime());
    try {
      await runtimeApps().doc(runtime.id).update({ lastInvokedAt: now });
    } catch (error) {
      log.lastInvokedUpdateFailed(runtime.id, error);
    }
  }

  /** A provider-initiated invocation without a binding: no state, recorded with `bindingId: null`. */
  /** `runtime`: the app's runtime if the caller already looked it up (undefined: look it up). */
  async invokeUnbound(
    info: CapabilityInfo,
    capability: CompiledCapability,
    args: { parameters: Record<string, unknown>; user: Record<string, unknown>; requestId: string; runtime?: RuntimeApp | null },
  ): Promise<CallOutcome> {
    const runtime = args.runtime === undefined ? await runtimeAppOf(info.appId) : args.runtime;
    const result = usable(runtime)
      ? await callCapability(
          runtime,
          {
            kind: "invoke",
            capability,
            body: {
              requestId: args.requestId,
              capability: info.capabilityId,
              parameters: args.parameters,
              user: args.user,
              context: { surface: "api", source: "api" },
            },
          },
          { requestId: args.requestId, clock: this.clock },
        )
      : unavailable(runtime, info.appId);
    return this.recordCall(info, { versionId: capability.version.id, bindingId: null, kind: "invoke", action: null, source: "api", result, runtime });
  }

  /** Runs a declared action for a binding's user, or for a mock user (provider-initiated). */
  async runAction(
    info: CapabilityInfo,
    capability: CompiledCapability,
    args: {
      action: string;
      input: Record<string, unknown>;
      binding: Binding | null;
      user: Record<string, unknown> | null;
      requestId: string;
      source: Source;
      runtime?: RuntimeApp | null;
      /** The runtime's Idempotency-Key for this action (stable across the caller's retries); default: a new one. */
      idempotencyKey?: string;
    },
  ): Promise<CallOutcome> {
    const runtime = args.runtime === undefined ? await runtimeAppOf(info.appId) : args.runtime;
    const user = args.binding ? { id: args.binding.providerUserId } : args.user!;
    const context = args.binding
      ? { surface: "widget", source: args.source, installId: args.binding.installId }
      : { surface: "api", source: args.source };
    const result = usable(runtime)
      ? await callCapability(
          runtime,
          {
            kind: "action",
            capability,
            action: args.action,
            body: { requestId: args.requestId, capability: info.capabilityId, action: args.action, input: args.input, user, context },
          },
          { requestId: args.requestId, clock: this.clock, ...(args.idempotencyKey === undefined ? {} : { idempotencyKey: args.idempotencyKey }) },
        )
      : unavailable(runtime, info.appId);
    return this.recordCall(info, {
      versionId: capability.version.id,
      bindingId: args.binding?.id ?? null,
      kind: "action",
      action: args.action,
      source: args.source,
      result,
      runtime,
    });
  }

  /**
   * Refreshes one capability instance (docs/capabilities.md#invoke): serves its state while fresh
   * (unless forced), otherwise calls the runtime once however many callers ask at the same time, and
   * records the invocation, the new state, a change event and the binding's sync bookkeeping in one
   * transaction. Never throws for provider failures.
   */
  async invokeBinding(binding: Binding, options: InvokeBindingOptions): Promise<InvokeOutcome> {
    const key = `${binding.id}:${options.force ? "force" : "fresh"}`;
    const running = inflight.get(key);
    if (running) {
      log.capabilityCoalesced(binding.capabilityKey, "memory");
      const outcome = await running;
      return outcome.status === "skipped" || outcome.origin !== "provider" ? outcome : { ...outcome, origin: "coalesced" };
    }
    const promise = this.refreshOnce(binding, options).finally(() => inflight.delete(key));
    inflight.set(key, promise);
    return promise;
  }

  private async refreshOnce(binding: Binding, options: InvokeBindingOptions): Promise<InvokeOutcome> {
    // The binding's status is checked again in each transaction below. Its runtime is that of the
    // package's app now (a package can move to another app of its account).
    const [version, pkg, state, boundRuntime] = await Promise.all([
      findVersion(binding.packageId, binding.versionId),
      findPackage(binding.packageId),
      findState(binding.id),
      runtimeAppOf(binding.appId),
    ]);
    const runtime = pkg && pkg.appId !== binding.appId ? await runtimeAppOf(pkg.appId) : boundRuntime;
    const capability = version ? compileCapability(version, binding.capabilityId) : null;
    if (!capability)
      return { status: "skipped", reason: "capability_missing", message: `Version ${binding.versionId} does not declare ${binding.capabilityRef}` };
    // Fresh data needs no transaction (the scheduler's call does: it moves nextSyncAt).
    const fresh = freshOutcome(binding, state, options, this.clock.now());
    if (fresh) return fresh;
    const invalid = schemaProblem(capability.input, binding.parameters);
    if (invalid)
      return {
        status: "skipped",
        reason: "parameters_invalid",
        message: `The binding's parameters do not match the capability's inputSchema: ${invalid}`,
      };

    for (let round = 0; round < 3; round++) {
      const claim = await this.claim(binding, capability, options);
      if (claim.kind === "removed") return { status: "skipped", reason: "binding_removed", message: `Binding ${binding.id} is not installed` };
      if (claim.kind === "cached") {
        log.capabilityCoalesced(binding.capabilityKey, "cache");
        return { status: "ok", origin: "cache", invocationId: claim.state.invocationId!, state: stateView(binding.id, claim.state)! };
      }
      if (claim.kind === "lead") return this.lead(binding, capability, runtime, claim.leaseId, options);
      const joined = await this.join(binding, claim.leaseId, claim.leaseUntil);
      if (joined) {
        log.capabilityCoalesced(binding.capabilityKey, "lease");
        return joined;
      }
    }
    throw new Error(`Could not claim or join a refresh of binding ${binding.id}`);
  }

  /** Fresh state, a refresh to join, or the lease to refresh it ourselves: decided in one transaction. */
  private claim(binding: Binding, capability: CompiledCapability, options: InvokeBindingOptions): Promise<Claim> {
    const now = this.clock.now();
    const ref = capabilityStates().doc(binding.id);
    return db().runTransaction(async (tx): Promise<Claim> => {
      const [state, current] = await Promise.all([findState(binding.id, tx), findBinding(binding.id, tx)]);
      if (!current || current.status !== "active") return { kind: "removed" };
      const freshness = freshnessAt(state, now);
      if (state && !options.force && freshness.status === "fresh" && state.versionId === current.versionId) {
        // The scheduler found the data fresh (someone refreshed it): next sync when it expires.
        if (options.source === "sync" && capability.descriptor.refreshIntervalSeconds > 0) {
          tx.update(capabilityBindings().doc(binding.id), { nextSyncAt: freshness.expiresAt, updatedAt: now });
        }
        return { kind: "cached", state };
      }
      if (state?.refresh && state.refresh.leaseUntil.getTime() > now.getTime())
        return { kind: "wait", leaseId: state.refresh.leaseId, leaseUntil: state.refresh.leaseUntil };
      const lease = {
        leaseId: newId("lse"),
        leaseUntil: new Date(now.getTime() + capability.descriptor.deadlineMs + LEASE_MARGIN_MS),
        startedAt: now,
      };
      if (state) tx.update(ref, { refresh: lease, updatedAt: now });
      else tx.create(ref, emptyState(binding, capability.version.id, lease, now));
      return { kind: "lead", leaseId: lease.leaseId };
    });
  }

  /** Waits for the refresh holding the lease; null if it never finished (its lease lapsed). */
  private async join(binding: Binding, leaseId: string, leaseUntil: Date): Promise<InvokeOutcome | null> {
    const waitMs = leaseUntil.getTime() - this.clock.now().getTime() + 1_000;
    const settled = await waitForDocument(capabilityStates().doc(binding.id), (s) => !s || s.refresh?.leaseId !== leaseId, waitMs);
    if (settled === "timeout") return null;
    if (!settled) return { status: "skipped", reason: "binding_removed", message: `Binding ${binding.id} is not installed` };
    if (settled.lastAttempt?.leaseId === leaseId) return outcomeOfAttempt(binding.id, settled, settled.lastAttempt, "coalesced");
    return null;
  }

  /** Holds the lease: calls the runtime, then records everything in one transaction. */
  private async lead(
    binding: Binding,
    capability: CompiledCapability,
    runtime: RuntimeApp | null,
    leaseId: string,
    options: InvokeBindingOptions,
  ): Promise<InvokeOutcome> {
    const requestId = options.requestId ?? newRequestId();
    const info = infoOfBinding(binding);
    const result = usable(runtime)
      ? await callCapability(
          runtime,
          {
            kind: "invoke",
            capability,
            body: {
              requestId,
              capability: binding.capabilityId,
              parameters: binding.parameters,
              user: { id: binding.providerUserId },
              context: { surface: "widget", source: options.source, installId: binding.installId },
            },
          },
          { requestId, clock: this.clock },
        )
      : unavailable(runtime, binding.appId);

    const finishedAt = this.clock.now();
    const invocationId = newId("inv");
    const doc = invocationDoc(info, {
      versionId: capability.version.id,
      bindingId: binding.id,
      kind: "invoke",
      action: null,
      source: options.source,
      result,
      at: finishedAt,
    });
    const attempt: LastAttempt = {
      leaseId,
      invocationId,
      status: result.ok ? "ok" : "error",
      errorClass: result.ok ? null : result.errorClass,
      errorMessage: result.ok ? null : result.errorMessage,
      httpStatus: result.httpStatus,
      at: finishedAt,
    };
    const refreshInterval = capability.descriptor.refreshIntervalSeconds;
    const touched = this.touchRuntime(runtime, result);
    const outcome = await db().runTransaction(async (tx): Promise<InvokeOutcome> => {
      const [state, current] = await Promise.all([findState(binding.id, tx), findBinding(binding.id, tx)]);
      tx.create(invocations().doc(invocationId), doc);
      if (!current || current.status !== "active" || !state) {
        // Uninstalled meanwhile: the invocation happened, but no state is brought back.
        return { status: "skipped", reason: "binding_removed", message: `Binding ${binding.id} was removed during the invocation` };
      }
      const refresh = state.refresh?.leaseId === leaseId ? null : state.refresh;
      let next: CapabilityStateDoc;
      let failures: number;
      if (result.ok && result.kind === "invoke") {
        next = {
          ...state,
          versionId: capability.version.id,
          dataJson: JSON.stringify(result.data),
          ttlSeconds: effectiveTtlSeconds(result.providerTtlSeconds, refreshInterval),
          fetchedAt: finishedAt,
          invocationId,
          latencyMs: result.latencyMs,
          invalidatedAt: null,
          refresh,
          lastAttempt: attempt,
          updatedAt: finishedAt,
        };
        failures = 0;
        writeStateEvent(tx, info, binding.id, "state.updated", next, finishedAt);
      } else {
        next = { ...state, refresh, lastAttempt: attempt, updatedAt: finishedAt };
        failures = current.consecutiveFailures + 1;
      }
      tx.set(capabilityStates().doc(binding.id), next);
      tx.update(capabilityBindings().doc(binding.id), {
        consecutiveFailures: failures,
        ...(failures === 0 ? { lastSyncAt: finishedAt } : {}),
        nextSyncAt: nextSyncAt({
          now: finishedAt,
          refreshIntervalSeconds: refreshInterval,
          consecutiveFailures: failures,
          fetchedAt: failures === 0 ? finishedAt : null,
        }),
        updatedAt: finishedAt,
      });
      return outcomeOfAttempt(binding.id, next, attempt, "provider");
    });
    logInvocation(invocationId, doc);
    await touched;
    return outcome;
  }
}

function emptyState(binding: Binding, versionId: string, refresh: CapabilityStateDoc["refresh"], now: Date): CapabilityStateDoc {
  return {
    bindingId: binding.id,
    capabilityKey: binding.capabilityKey,
    capabilityRef: binding.capabilityRef,
    accountId: binding.accountId,
    appId: binding.appId,
    versionId,
    dataJson: null,
    ttlSeconds: 0,
    fetchedAt: null,
    invocationId: null,
    latencyMs: null,
    invalidatedAt: null,
    refresh,
    lastAttempt: null,
    updatedAt: now,
  };
}

/**
 * The invoker API for the data sync (jobs/catalogSync.ts): refreshes a binding's state. Provider
 * failures come back as `status: "error"` outcomes (recorded, with the binding's backoff updated);
 * a binding removed meanwhile as `status: "skipped"`.
 */
export function invokeBinding(binding: Binding, options: InvokeBindingOptions): Promise<InvokeOutcome> {
  return new CapabilityInvoker(options.clock ?? systemClock).invokeBinding(binding, options);
}

/**
 * Uninstall: deletes a binding's cached state in the uninstall's transaction and emits
 * `state.deleted` to realtime streams. Writes only (no reads), so it may follow the caller's writes.
 */
export function deleteBindingState(
  tx: Transaction,
  binding: Pick<Binding, "id" | "capabilityKey" | "capabilityRef" | "accountId" | "appId">,
  now: Date = systemClock.now(),
): void {
  tx.delete(capabilityStates().doc(binding.id));
  writeStateEvent(
    tx,
    { key: binding.capabilityKey, ref: binding.capabilityRef, accountId: binding.accountId, appId: binding.appId },
    binding.id,
    "state.deleted",
    null,
    now,
  );
}

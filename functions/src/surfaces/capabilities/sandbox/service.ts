import type { z } from "zod";
import type { OAuthAppPrincipal } from "../../../domain/accounts/principals";
import { type Clock, DAY, systemClock } from "../../../kernel/clock";
import { newId } from "../../../kernel/crypto";
import { ApiError } from "../../../kernel/errors";
import type { Page } from "../../../kernel/http/envelope";
import { log } from "../../../kernel/logger";
import { type CallResult, callCapability, type CallTarget } from "../../../domain/capabilities/runtimeCall";
import { runtimeAppOf } from "../../../domain/runtime/runtimeApp";
import { assertValid, capabilityInVersion, findVisibleCapability, latestVersionId } from "../resolve";
import { type CompiledCapability, schemaProblem } from "../../../domain/capabilities/compiled";
import { type Assertion, evaluate, type Observation } from "./assertions";
import {
  findScenario,
  listScenarios,
  listTraces,
  sandboxScenarios,
  sandboxTraces,
  type SandboxErrorClass,
  type SandboxScenarioDoc,
  type SandboxTraceDoc,
} from "../../../domain/capabilities/sandbox";
import {
  type CreateScenarioBody,
  type ScenarioOut,
  type ScenariosQuery,
  toScenarioOut,
  toTraceOut,
  type TraceOut,
  type TraceRecord,
  type TracesQuery,
} from "./schemas";

/**
 * The sandbox (docs/sandbox.md): scenarios run against the provider's runtime exactly as production
 * calls it (same client, credentials, signature, deadline and checks), but nothing of production is
 * touched: no invocation records, no capability state or events, no lastInvokedAt. Each run is kept
 * as a trace with its credentials redacted.
 */

const TRACE_RETENTION_MS = 30 * DAY;
/** Response bodies kept in a trace (a Firestore document holds 1 MiB). */
const MAX_TRACE_BODY_BYTES = 256 * 1024;

/** Request headers shown as sent; every other header (credentials, signatures) reads `[redacted]`. */
const VISIBLE_REQUEST_HEADERS = new Set([
  "accept",
  "content-type",
  "content-length",
  "user-agent",
  "aiffinity-request-id",
  "webhook-id",
  "webhook-timestamp",
]);
const HIDDEN_RESPONSE_HEADERS = new Set(["set-cookie", "authorization", "proxy-authorization"]);
const REDACTED = "[redacted]";

const redact = (headers: Record<string, string>, visible: (name: string) => boolean) =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), visible(name.toLowerCase()) ? value : REDACTED]));

const parseOr = (text: string) => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
};

function traceOf(result: CallResult | null): TraceRecord {
  const sent = result?.sent ?? null;
  const received = result?.received ?? null;
  let response: TraceRecord["response"] = null;
  if (received) {
    const truncated = received.body.length > MAX_TRACE_BODY_BYTES;
    const text = received.body.subarray(0, MAX_TRACE_BODY_BYTES).toString("utf8");
    response = {
      status: received.status,
      headers: redact(received.headers, (name) => !HIDDEN_RESPONSE_HEADERS.has(name)),
      body: truncated ? text : result?.responseJson !== undefined ? result.responseJson : text,
      bodyBytes: received.body.length,
      truncated,
    };
  }
  return {
    request: sent
      ? { method: sent.method, url: sent.url, headers: redact(sent.headers, (name) => VISIBLE_REQUEST_HEADERS.has(name)), body: parseOr(sent.body) }
      : null,
    response,
  };
}

export class SandboxService {
  constructor(private readonly clock: Clock = systemClock) {}

  async createScenario(principal: OAuthAppPrincipal, body: CreateScenarioBody): Promise<z.input<typeof ScenarioOut>> {
    const handle = await findVisibleCapability(principal, body.capability);
    const capability = await capabilityInVersion(handle, body.versionId ?? (await latestVersionId(handle.pkg)));
    const input = (body.kind === "invoke" ? body.parameters : body.input) ?? {};
    if (body.kind === "invoke") assertValid(capability.input, input, "parameters", "input");
    else {
      const action = capability.actions.get(body.action!);
      if (!action)
        throw new ApiError("VALIDATION_ERROR", `action: Not declared by this capability in version ${capability.version.version}`, {
          details: [{ field: "action", message: "Not declared by this capability" }],
        });
      assertValid(action.input, input, "input", "action's input");
    }
    const now = this.clock.now();
    const id = newId("scn");
    const doc: SandboxScenarioDoc = {
      accountId: principal.accountId,
      appId: principal.appId,
      packageId: handle.pkg.id,
      capabilityKey: handle.key,
      capabilityRef: handle.ref,
      name: body.name,
      description: body.description ?? null,
      versionId: body.versionId ?? null,
      kind: body.kind,
      action: body.action ?? null,
      user: body.user,
      inputJson: JSON.stringify(input),
      assertionsJson: JSON.stringify(body.assertions),
      createdAt: now,
      updatedAt: now,
    };
    await sandboxScenarios().doc(id).create(doc);
    return toScenarioOut({ id, ...doc });
  }

  async listScenarios(principal: OAuthAppPrincipal, query: z.output<typeof ScenariosQuery>): Promise<Page<z.input<typeof ScenarioOut>>> {
    const { items, total } = await listScenarios(principal.appId, query.capability, query.limit, query.offset);
    return { items: items.map(toScenarioOut), total, limit: query.limit, offset: query.offset };
  }

  async listTraces(principal: OAuthAppPrincipal, query: z.output<typeof TracesQuery>): Promise<Page<z.input<typeof TraceOut>>> {
    const { items, total } = await listTraces(
      principal.appId,
      { capabilityRef: query.capability, since: query.since ? new Date(query.since) : undefined },
      query.limit,
      query.offset,
    );
    return { items: items.map(toTraceOut), total, limit: query.limit, offset: query.offset };
  }

  /** Runs a scenario against the runtime; failures of the runtime are results (passed: false), not errors. */
  async run(principal: OAuthAppPrincipal, scenarioId: string, requestId: string): Promise<z.input<typeof TraceOut>> {
    const scenario = await findScenario(scenarioId);
    if (!scenario || scenario.appId !== principal.appId) throw new ApiError("NOT_FOUND", `No scenario '${scenarioId}'`);
    const handle = await findVisibleCapability(principal, scenario.capabilityRef);
    const capability = await capabilityInVersion(handle, scenario.versionId ?? (await latestVersionId(handle.pkg)));
    const input = JSON.parse(scenario.inputJson) as Record<string, unknown>;
    const assertions = JSON.parse(scenario.assertionsJson) as Assertion[];

    let error: { class: SandboxErrorClass; message: string } | null = null;
    let result: CallResult | null = null;
    const inputProblem = this.inputProblem(capability, scenario, input);
    if (inputProblem) error = { class: "input_invalid", message: inputProblem };
    else {
      const runtime = await runtimeAppOf(handle.pkg.appId);
      if (!runtime) error = { class: "runtime_paused", message: `No runtime app is registered for app ${handle.pkg.appId}` };
      else {
        const context = { surface: "api", source: "api", sandbox: true };
        const target: CallTarget =
          scenario.kind === "invoke"
            ? {
                kind: "invoke",
                capability,
                body: { requestId, capability: capability.descriptor.id, parameters: input, user: scenario.user, context },
              }
            : {
                kind: "action",
                capability,
                action: scenario.action!,
                body: { requestId, capability: capability.descriptor.id, action: scenario.action, input, user: scenario.user, context },
              };
        result = await callCapability(runtime, target, { requestId, clock: this.clock });
        if (!result.ok) error = { class: result.errorClass, message: result.errorMessage };
      }
    }

    const observation: Observation = {
      httpStatus: result?.httpStatus ?? null,
      latencyMs: result?.latencyMs ?? 0,
      body: result?.responseJson,
      outputProblem: scenario.kind === "invoke" ? outputProblem(capability, result?.responseJson) : undefined,
    };
    const results = assertions.map((a, i) => evaluate(a, i, observation));
    const passed = results.every((r) => r.passed);
    const now = this.clock.now();
    const id = newId("trc");
    const doc: SandboxTraceDoc = {
      accountId: principal.accountId,
      appId: principal.appId,
      capabilityKey: handle.key,
      capabilityRef: handle.ref,
      scenarioId: scenario.id,
      scenarioName: scenario.name,
      versionId: capability.version.id,
      kind: scenario.kind,
      action: scenario.action,
      passed,
      latencyMs: observation.latencyMs,
      errorClass: error?.class ?? null,
      errorMessage: error?.message ?? null,
      assertionsJson: JSON.stringify(results),
      traceJson: JSON.stringify(traceOf(result)),
      createdAt: now,
      expiresAt: new Date(now.getTime() + TRACE_RETENTION_MS),
    };
    await sandboxTraces().doc(id).create(doc);
    log.sandboxRun(id, handle.key, passed, doc.errorClass, doc.latencyMs);
    return toTraceOut({ id, ...doc });
  }

  private inputProblem(capability: CompiledCapability, scenario: SandboxScenarioDoc, input: Record<string, unknown>): string | null {
    if (scenario.kind === "invoke") {
      const problem = schemaProblem(capability.input, input);
      return problem ? `parameters do not match the inputSchema of version ${capability.version.version}: ${problem}` : null;
    }
    const action = capability.actions.get(scenario.action!);
    if (!action) return `Action '${scenario.action}' is not declared in version ${capability.version.version}`;
    const problem = schemaProblem(action.input, input);
    return problem ? `input does not match the action's inputSchema in version ${capability.version.version}: ${problem}` : null;
  }
}

/** Why the response's `data` breaks the output schema ("no data" when there is none), or null. */
function outputProblem(capability: CompiledCapability, body: unknown): string | null {
  if (typeof body !== "object" || body === null || Array.isArray(body) || !("data" in body)) return "The response has no `data`";
  return schemaProblem(capability.output, (body as { data: unknown }).data);
}

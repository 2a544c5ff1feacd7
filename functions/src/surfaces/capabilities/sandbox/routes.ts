import { oauthApp } from "../../../domain/accounts/principals";
import { listRoute, route, type AnyRoute } from "../../../kernel/http/route";
import { CreateScenarioBody, RunBody, ScenarioOut, ScenariosQuery, TraceOut, TracesQuery } from "./schemas";
import { SandboxService } from "./service";

const tags = ["Provider Capabilities: Sandbox"];
const SANDBOX = "/v1/providers/capabilities/sandbox";

/** Scenarios, runs and traces (docs/sandbox.md). */
export function sandboxRoutes(service = new SandboxService()): AnyRoute[] {
  return [
    route({
      method: "post",
      operationId: "createSandboxScenario",
      idempotency: "plain",
      path: `${SANDBOX}/scenarios`,
      summary: "Create a test scenario",
      description:
        "A mock user context, the input and the assertions (docs/sandbox.md) for one of your capabilities, optionally pinned to a version of any state (default: the newest version when it runs). " +
        "Scenarios are isolated from production data.",
      tags,
      auth: oauthApp,
      body: CreateScenarioBody,
      maxBodyBytes: 256 * 1024,
      response: ScenarioOut,
      status: 201,
      errors: ["NOT_FOUND", "CONFLICT"],
      handler: async ({ principal, body }) => service.createScenario(principal, body),
    }),
    listRoute({
      method: "get",
      operationId: "listSandboxScenarios",
      path: `${SANDBOX}/scenarios`,
      summary: "List your test scenarios",
      description: "The scenarios of your app's capabilities, newest first. `?capability` filters; `?limit` and `?offset` paginate.",
      tags,
      auth: oauthApp,
      query: ScenariosQuery,
      response: ScenarioOut,
      handler: async ({ principal, query }) => service.listScenarios(principal, query),
    }),
    route({
      method: "post",
      operationId: "runSandboxScenario",
      path: `${SANDBOX}/run`,
      summary: "Run a scenario against your runtime",
      description:
        "Calls your runtime exactly like production (credentials, signature, deadline, size limit) and answers pass/fail, each assertion's result, the latency and the full request/response trace (credentials redacted). " +
        "Nothing of production is touched: no invocation history, state, realtime events or metrics. A runtime failure is a failed run, not an error.",
      tags,
      auth: oauthApp,
      body: RunBody,
      response: TraceOut,
      errors: ["NOT_FOUND"],
      handler: async ({ principal, body, requestId }) => service.run(principal, body.scenarioId, requestId),
    }),
    listRoute({
      method: "get",
      operationId: "listSandboxTraces",
      path: `${SANDBOX}/traces`,
      summary: "Execution traces of sandbox runs",
      description:
        "Newest first, each with the request and response payloads, the handler's duration, errors and assertion results. `?since` (ISO 8601), `?capability`, `?limit` and `?offset`. Kept 30 days.",
      tags,
      auth: oauthApp,
      query: TracesQuery,
      response: TraceOut,
      handler: async ({ principal, query }) => service.listTraces(principal, query),
    }),
  ];
}

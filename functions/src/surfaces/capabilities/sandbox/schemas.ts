import { z } from "zod";
import { iso, PageQuery, IsoDate } from "../../../kernel/http/envelope";
import { CapabilityRefField, MockUser } from "../schemas";
import { Assertion, type AssertionResult } from "./assertions";
import { SANDBOX_ERROR_CLASSES, type SandboxScenario, type SandboxTrace } from "../../../domain/capabilities/sandbox";

// ---------- Requests ----------

export const CreateScenarioBody = z
  .strictObject({
    capability: CapabilityRefField,
    name: z.string().trim().min(1).max(120),
    description: z.string().trim().min(1).max(1000).optional(),
    versionId: z
      .string()
      .regex(/^ver_[0-9A-Za-z]{20}$/, "Must be a version id")
      .optional()
      .meta({ description: "A version of the package, in any state (draft included). Default: the newest version when the scenario runs." }),
    kind: z.enum(["invoke", "action"]).default("invoke"),
    action: z.string().min(1).max(64).optional().meta({ description: "Action scenarios: the declared action to run." }),
    user: MockUser.meta({ description: "The mock user context sent to your runtime." }),
    parameters: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: "Invoke scenarios: the parameters (validated against the inputSchema)." }),
    input: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: "Action scenarios: the action's input (validated against its inputSchema)." }),
    assertions: z.array(Assertion).min(1).max(50).meta({ description: "What the run must observe (docs/sandbox.md)." }),
  })
  .superRefine((s, ctx) => {
    if (s.kind === "invoke") {
      if (s.action !== undefined) ctx.addIssue({ code: "custom", path: ["action"], message: "Only for action scenarios" });
      if (s.input !== undefined)
        ctx.addIssue({ code: "custom", path: ["input"], message: "Only for action scenarios (invoke scenarios use parameters)" });
    } else {
      if (s.action === undefined) ctx.addIssue({ code: "custom", path: ["action"], message: "Required for action scenarios" });
      if (s.parameters !== undefined)
        ctx.addIssue({ code: "custom", path: ["parameters"], message: "Only for invoke scenarios (action scenarios use input)" });
      s.assertions.forEach((a, i) => {
        if (a.type === "outputSchema")
          ctx.addIssue({ code: "custom", path: ["assertions", i, "type"], message: "outputSchema assertions apply to invoke scenarios only" });
      });
    }
  })
  .meta({ id: "CreateSandboxScenarioRequest" });
export type CreateScenarioBody = z.output<typeof CreateScenarioBody>;

export const ScenariosQuery = PageQuery.extend({
  capability: CapabilityRefField.optional().meta({ description: "Only this capability's scenarios." }),
});

export const RunBody = z
  .strictObject({
    scenarioId: z
      .string()
      .regex(/^scn_[0-9A-Za-z]{20}$/, "Must be a scenario id")
      .meta({ example: "scn_3ZkQ8bW1mN0pR5sT7vX9" }),
  })
  .meta({ id: "SandboxRunRequest" });

export const TracesQuery = PageQuery.extend({
  capability: CapabilityRefField.optional().meta({ description: "Only this capability's runs." }),
  since: z.iso.datetime({ offset: true }).optional().meta({ description: "Only runs at or after this time (ISO 8601)." }),
});

// ---------- Responses ----------

export const ScenarioOut = z
  .object({
    id: z.string(),
    capability: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    versionId: z.string().nullable().meta({ description: "Null: the newest version of the package when it runs." }),
    kind: z.enum(["invoke", "action"]),
    action: z.string().nullable(),
    user: z.object({ id: z.string(), locale: z.string().optional(), timezone: z.string().optional() }),
    parameters: z.record(z.string(), z.unknown()).nullable(),
    input: z.record(z.string(), z.unknown()).nullable(),
    assertions: z.array(z.record(z.string(), z.unknown())),
    createdAt: IsoDate,
  })
  .meta({ id: "SandboxScenario" });

const AssertionResultOut = z.object({
  index: z.number().int(),
  type: z.string(),
  passed: z.boolean(),
  expected: z.string(),
  actual: z.unknown(),
  message: z.string(),
});

export const TraceOut = z
  .object({
    id: z.string(),
    scenarioId: z.string(),
    scenarioName: z.string(),
    capability: z.string(),
    versionId: z.string(),
    kind: z.enum(["invoke", "action"]),
    action: z.string().nullable(),
    passed: z.boolean(),
    latencyMs: z.number().meta({ description: "Your handler's duration: the exchange with your runtime." }),
    error: z.object({ class: z.enum(SANDBOX_ERROR_CLASSES), message: z.string() }).nullable(),
    assertions: z.array(AssertionResultOut),
    trace: z.object({
      request: z
        .object({ method: z.string(), url: z.string(), headers: z.record(z.string(), z.string()), body: z.unknown() })
        .nullable()
        .meta({ description: "What was sent; credentials and signatures read `[redacted]`. Null when nothing was sent." }),
      response: z
        .object({
          status: z.number().int(),
          headers: z.record(z.string(), z.string()),
          body: z.unknown(),
          bodyBytes: z.number().int(),
          truncated: z.boolean(),
        })
        .nullable()
        .meta({ description: "What your runtime answered: the body as JSON when it is JSON, else as text (at most 256 KiB kept)." }),
    }),
    createdAt: IsoDate,
  })
  .meta({ id: "SandboxTrace" });

export type TraceRecord = z.input<typeof TraceOut>["trace"];

// ---------- Mappers ----------

export const toScenarioOut = (s: SandboxScenario): z.input<typeof ScenarioOut> => {
  const input = JSON.parse(s.inputJson) as Record<string, unknown>;
  return {
    id: s.id,
    capability: s.capabilityRef,
    name: s.name,
    description: s.description,
    versionId: s.versionId,
    kind: s.kind,
    action: s.action,
    user: s.user,
    parameters: s.kind === "invoke" ? input : null,
    input: s.kind === "action" ? input : null,
    assertions: JSON.parse(s.assertionsJson) as Assertion[] as unknown as Record<string, unknown>[],
    createdAt: iso(s.createdAt),
  };
};

export const toTraceOut = (t: SandboxTrace): z.input<typeof TraceOut> => ({
  id: t.id,
  scenarioId: t.scenarioId,
  scenarioName: t.scenarioName,
  capability: t.capabilityRef,
  versionId: t.versionId,
  kind: t.kind,
  action: t.action,
  passed: t.passed,
  latencyMs: t.latencyMs,
  error: t.errorClass ? { class: t.errorClass, message: t.errorMessage ?? "" } : null,
  assertions: JSON.parse(t.assertionsJson) as AssertionResult[],
  trace: JSON.parse(t.traceJson) as TraceRecord,
  createdAt: iso(t.createdAt),
});

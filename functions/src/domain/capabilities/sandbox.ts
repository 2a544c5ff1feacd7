import { z } from "zod";
import { newestFirstPage, typedCollection, zDate } from "../../kernel/firestore";
import { INVOCATION_ERROR_CLASSES } from "./invocation";

/** Sandbox failures: the invocation classes, and input the version's schema rejects (nothing was sent). */
export const SANDBOX_ERROR_CLASSES = [...INVOCATION_ERROR_CLASSES, "input_invalid"] as const;
export type SandboxErrorClass = (typeof SANDBOX_ERROR_CLASSES)[number];

/** sandboxScenarios/{id}: a provider's test of one capability, owned by the app whose package it is. */
export const SandboxScenarioDoc = z.object({
  accountId: z.string(),
  appId: z.string(),
  packageId: z.string(),
  capabilityKey: z.string(),
  capabilityRef: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  /** A version of the package, or null: the newest version at run time. */
  versionId: z.string().nullable(),
  kind: z.enum(["invoke", "action"]),
  action: z.string().nullable(),
  user: z.object({ id: z.string(), locale: z.string().optional(), timezone: z.string().optional() }),
  /** Invocation parameters or action input, as JSON text (any JSON shape). */
  inputJson: z.string(),
  assertionsJson: z.string(),
  createdAt: zDate,
  updatedAt: zDate,
});
export type SandboxScenarioDoc = z.infer<typeof SandboxScenarioDoc>;
export type SandboxScenario = SandboxScenarioDoc & { id: string };

/** sandboxTraces/{id}: one run of a scenario, with the full (redacted) exchange. Kept 30 days (TTL on expiresAt). */
export const SandboxTraceDoc = z.object({
  accountId: z.string(),
  appId: z.string(),
  capabilityKey: z.string(),
  capabilityRef: z.string(),
  scenarioId: z.string(),
  scenarioName: z.string(),
  versionId: z.string(),
  kind: z.enum(["invoke", "action"]),
  action: z.string().nullable(),
  passed: z.boolean(),
  latencyMs: z.number().min(0),
  errorClass: z.enum(SANDBOX_ERROR_CLASSES).nullable(),
  errorMessage: z.string().nullable(),
  /** Assertion results and the request/response trace, as JSON text. */
  assertionsJson: z.string(),
  traceJson: z.string(),
  createdAt: zDate,
  expiresAt: zDate,
});
export type SandboxTraceDoc = z.infer<typeof SandboxTraceDoc>;
export type SandboxTrace = SandboxTraceDoc & { id: string };

export const sandboxScenarios = () => typedCollection("sandboxScenarios", SandboxScenarioDoc);
export const sandboxTraces = () => typedCollection("sandboxTraces", SandboxTraceDoc);

export async function findScenario(id: string): Promise<SandboxScenario | null> {
  const snap = await sandboxScenarios().doc(id).get();
  const data = snap.data();
  return data ? { id: snap.id, ...data } : null;
}

export function listScenarios(appId: string, capabilityRef: string | undefined, limit: number, offset: number) {
  const base = sandboxScenarios().where("appId", "==", appId);
  return newestFirstPage(capabilityRef ? base.where("capabilityRef", "==", capabilityRef) : base, limit, offset);
}

export function listTraces(appId: string, filters: { capabilityRef?: string | undefined; since?: Date | undefined }, limit: number, offset: number) {
  let query = sandboxTraces().where("appId", "==", appId);
  if (filters.capabilityRef) query = query.where("capabilityRef", "==", filters.capabilityRef);
  if (filters.since) query = query.where("createdAt", ">=", filters.since);
  return newestFirstPage(query, limit, offset);
}

import { newestFirstPage, typedCollection } from "../../../kernel/firestore";
import { SandboxScenario, SandboxScenarioDoc, SandboxTraceDoc } from "./schemas";

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

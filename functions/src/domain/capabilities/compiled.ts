import { compileJsonSchema, describeProblem, firstError, type SchemaCheck } from "../../kernel/jsonSchema";
import { Lru } from "../../kernel/lru";
import type { ActionDescriptor, CapabilityDescriptor } from "../packages/descriptor";
import { parseCapabilities, type Version } from "../packages/version";

/** A capability as one version declares it, with its JSON Schemas compiled. */
export interface CompiledCapability {
  version: Version;
  descriptor: CapabilityDescriptor;
  input: SchemaCheck;
  output: SchemaCheck;
  actions: Map<string, { descriptor: ActionDescriptor; input: SchemaCheck }>;
}

const CACHE_SIZE = 500;

// Compiling JSON Schemas is the expensive part; versions change only while in draft (updatedAt is in the key).
const compiledCache = new Lru<string, CompiledCapability>(CACHE_SIZE);

export function compileCapability(version: Version, capabilityId: string): CompiledCapability | null {
  const key = `${version.packageId}/${version.id}@${version.updatedAt.getTime()}/${capabilityId}`;
  const cached = compiledCache.get(key);
  if (cached) return cached;
  const descriptor = parseCapabilities(version.capabilitiesJson).find((c) => c.id === capabilityId);
  if (!descriptor) return null;
  const compiled: CompiledCapability = {
    version,
    descriptor,
    input: compileJsonSchema(descriptor.inputSchema),
    output: compileJsonSchema(descriptor.outputSchema),
    actions: new Map(descriptor.actions.map((a) => [a.id, { descriptor: a, input: compileJsonSchema(a.inputSchema) }])),
  };
  compiledCache.set(key, compiled);
  return compiled;
}

/** Why `value` does not satisfy `check`, or null. */
export function schemaProblem(check: SchemaCheck, value: unknown): string | null {
  if (!check.ok) return `schema not usable: ${check.detail}`;
  const problem = firstError(check.validate, value);
  return problem ? describeProblem(problem) : null;
}

/**
 * What the conformance suite needs from the provider runtime: the runtime app registered for a
 * console app, and one probe of one capability. The suite only talks to this interface, so the
 * reliability and performance dimensions do not depend on how runtime apps are stored or called.
 */
export interface RuntimeRegistration {
  runtimeAppId: string;
  /** Only `active` runtimes are probed. */
  status: string;
  endpointUrl: string;
  /** How Aiffinity authenticates to the runtime, or null when no profile is set. */
  authProfile: { type: string } | null;
}

type ProbeOutcome = "ok" | "timeout" | "http_error" | "network_error" | "not_json";

export interface ProbeResult {
  outcome: ProbeOutcome;
  httpStatus: number | null;
  /** Time to the full answer (or to the failure), in ms. */
  latencyMs: number;
  /** The parsed answer when outcome is "ok". */
  output?: unknown;
  /** A short, stable description of a failure (no secrets, no response bodies). */
  error?: string;
}

export interface ProbeTarget {
  capabilityId: string;
  deadlineMs: number;
  input: Record<string, unknown>;
}

/** `R` lets an implementation carry what it needs to call the runtime along with the registration. */
export interface RuntimeProber<R extends RuntimeRegistration = RuntimeRegistration> {
  registrationFor(appId: string): Promise<R | null>;
  probe(runtime: R, target: ProbeTarget): Promise<ProbeResult>;
}

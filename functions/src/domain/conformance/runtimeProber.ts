import { newId } from "../../kernel/crypto";
import { OutboundError } from "../../kernel/outbound";
import { callProvider, ProviderAuthError } from "../runtime/providerClient";
import { runtimeAppOf } from "../runtime/runtimeApp";
import type { RuntimeApp } from "../runtime/runtimeApp";
import type { ProbeResult, ProbeTarget, RuntimeProber, RuntimeRegistration } from "./prober";

/** The user a conformance probe invokes a capability for: no real user's data is ever touched. */
const PROBE_USER_ID = "aiffinity-conformance-probe";
const MAX_RESPONSE_BYTES = 1024 * 1024;

interface RuntimeAppRegistration extends RuntimeRegistration {
  app: RuntimeApp;
}

/**
 * Probes the runtime app registered for a console app (docs/provider-runtime.md) the way the
 * platform invokes a capability: `POST {endpointUrl}/capabilities/{id}/invoke` through the runtime
 * client (auth profile credentials, request signature, deadline, size cap, no redirects), with the
 * capability's sample input for a probe user, and reads the output from the answer's `data`.
 */
export class RuntimeAppProber implements RuntimeProber<RuntimeAppRegistration> {
  async registrationFor(appId: string): Promise<RuntimeAppRegistration | null> {
    const app = await runtimeAppOf(appId);
    if (!app) return null;
    return {
      runtimeAppId: app.id,
      status: app.status,
      endpointUrl: app.endpointUrl,
      authProfile: app.authProfile ? { type: app.authProfile.type } : null,
      app,
    };
  }

  async probe(runtime: RuntimeAppRegistration, target: ProbeTarget): Promise<ProbeResult> {
    const requestId = newId("req");
    const started = performance.now();
    try {
      const response = await callProvider(runtime.app, {
        path: `/capabilities/${encodeURIComponent(target.capabilityId)}/invoke`,
        method: "POST",
        body: JSON.stringify({
          requestId,
          capability: target.capabilityId,
          parameters: target.input,
          user: { id: PROBE_USER_ID },
          context: { surface: "conformance" },
        }),
        requestId,
        timeoutMs: target.deadlineMs,
        maxResponseBytes: MAX_RESPONSE_BYTES,
      });
      // The exchange itself, without fetching an OAuth token for it (cached after the first probe).
      const latencyMs = response.durationMs;
      if (response.status < 200 || response.status > 299) return { outcome: "http_error", httpStatus: response.status, latencyMs };
      let body: unknown;
      try {
        body = response.json();
      } catch {
        return { outcome: "not_json", httpStatus: response.status, latencyMs };
      }
      return { outcome: "ok", httpStatus: response.status, latencyMs, output: (body as { data?: unknown } | null)?.data };
    } catch (error) {
      const latencyMs = Math.round(performance.now() - started);
      if (error instanceof ProviderAuthError)
        return { outcome: "network_error", httpStatus: null, latencyMs, error: "the auth profile's token URL failed" };
      if (!(error instanceof OutboundError)) throw error;
      if (error.kind === "timeout") return { outcome: "timeout", httpStatus: null, latencyMs };
      if (error.kind === "bad_body") return { outcome: "not_json", httpStatus: error.details.status ?? null, latencyMs };
      const reasons: Record<string, string> = {
        connection_refused: "connection refused",
        network: "network failure",
        url_rejected: "endpoint URL not allowed",
        too_large: "answer larger than 1 MiB",
      };
      return { outcome: "network_error", httpStatus: null, latencyMs, error: reasons[error.kind] ?? error.kind };
    }
  }
}

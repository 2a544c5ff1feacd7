import { db } from "../../../kernel/firebase";
import { urlProblem } from "../../../kernel/urls";
import type { ProbeResult, ProbeTarget, RuntimeProber, RuntimeRegistration } from "./prober";

/** The user a conformance probe invokes a capability for: no real user's data is ever touched. */
export const PROBE_USER_ID = "aiffinity-conformance-probe";

/**
 * PROVISIONAL: probes the runtime app registered for a console app (the `runtimeApps` collection of
 * the provider runtime surface) with `POST {endpointUrl}/capabilities/{id}/invoke`, body
 * `{"parameters": <sampleInput>, "user": {"id": PROBE_USER_ID}}`, and reads the output from the
 * answer's `data`. It sends no credentials yet: the runtime surface's outbound client (auth
 * profiles, signatures) replaces the plain fetch below when it lands.
 */
export class RuntimeAppProber implements RuntimeProber {
  async registrationFor(appId: string): Promise<RuntimeRegistration | null> {
    const snap = await db().collection("runtimeApps").where("appId", "==", appId).limit(1).get();
    const doc = snap.docs[0];
    if (!doc) return null;
    const authProfile = doc.get("authProfile") as { type?: unknown } | null | undefined;
    return {
      runtimeAppId: doc.id,
      status: String(doc.get("status") ?? "unknown"),
      endpointUrl: String(doc.get("endpointUrl") ?? ""),
      authProfile: authProfile && typeof authProfile.type === "string" ? { type: authProfile.type } : null,
    };
  }

  async probe(runtime: RuntimeRegistration, target: ProbeTarget): Promise<ProbeResult> {
    const started = performance.now();
    const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
    if (urlProblem(runtime.endpointUrl)) return { outcome: "network_error", httpStatus: null, latencyMs: 0, error: "endpoint URL not allowed" };
    const url = `${runtime.endpointUrl.replace(/\/+$/, "")}/capabilities/${encodeURIComponent(target.capabilityId)}/invoke`;
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json", "user-agent": "Aiffinity-Conformance/1.0" },
        body: JSON.stringify({ parameters: target.input, user: { id: PROBE_USER_ID } }),
        redirect: "manual",
        signal: AbortSignal.timeout(target.deadlineMs),
      });
      const text = await response.text();
      const latencyMs = elapsed();
      if (response.status < 200 || response.status > 299) return { outcome: "http_error", httpStatus: response.status, latencyMs };
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return { outcome: "not_json", httpStatus: response.status, latencyMs };
      }
      return { outcome: "ok", httpStatus: response.status, latencyMs, output: (body as { data?: unknown } | null)?.data };
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === "TimeoutError" || name === "AbortError") return { outcome: "timeout", httpStatus: null, latencyMs: elapsed() };
      const code = (error as { cause?: { code?: string } }).cause?.code;
      return { outcome: "network_error", httpStatus: null, latencyMs: elapsed(), error: code ? `connection failed (${code})` : "connection failed" };
    }
  }
}

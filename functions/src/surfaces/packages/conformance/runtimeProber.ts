import { newId } from "../../../kernel/crypto";
import { db } from "../../../kernel/firebase";
import { urlProblem } from "../../../kernel/urls";
import type { ProbeResult, ProbeTarget, RuntimeProber, RuntimeRegistration } from "./prober";

/** The user a conformance probe invokes a capability for: no real user's data is ever touched. */
export const PROBE_USER_ID = "aiffinity-conformance-probe";
const MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * PROVISIONAL: probes the runtime app registered for a console app (the `runtimeApps` collection of
 * the provider runtime surface) with the invocation of the runtime contract,
 * `POST {endpointUrl}/capabilities/{id}/invoke` `{requestId, capability, parameters, user, context}`,
 * and reads the output from the answer's `data`. It sends no credentials: the provider runtime's
 * outbound client (auth profiles, request signatures) replaces the plain fetch below when it lands.
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
    const requestId = newId("req");
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json", "user-agent": "Aiffinity-Platform/1.0", "aiffinity-request-id": requestId },
        body: JSON.stringify({ requestId, capability: target.capabilityId, parameters: target.input, user: { id: PROBE_USER_ID }, context: { surface: "conformance" } }),
        redirect: "manual",
        signal: AbortSignal.timeout(target.deadlineMs),
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of (response.body ?? []) as AsyncIterable<Uint8Array>) {
        size += chunk.byteLength;
        if (size > MAX_RESPONSE_BYTES) return { outcome: "not_json", httpStatus: response.status, latencyMs: elapsed(), error: "response larger than 1 MiB" };
        chunks.push(Buffer.from(chunk));
      }
      const latencyMs = elapsed();
      if (response.status < 200 || response.status > 299) return { outcome: "http_error", httpStatus: response.status, latencyMs };
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
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

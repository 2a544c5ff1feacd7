import { randomBytes } from "node:crypto";
import type { InvocationDoc } from "../../src/domain/capabilities/invocation";
import { adminDb } from "./admin";
import { api, expectStatus } from "./http";
import { createPackage, packageProvider, validate, versionInState, versionPath } from "./packages";
import { eventually, type SampleProvider } from "./sampleProvider";

export const CAPABILITIES = "/v1/providers/capabilities";

/** A published data_only package (weather_forecast), its provider, app and runtime access token. */
export async function publishedPackage(sample: SampleProvider, company: string) {
  const provider = await packageProvider(sample, company);
  return { ...provider, access: provider.runtime!.access, runtimeAppId: provider.runtime!.runtimeAppId, ...(await publishPackage(provider)) };
}

/** One more package of the provider's app, taken through the pipeline into the catalog. */
export async function publishPackage(provider: { token: string; accountId: string; app: { id: string } }) {
  const { id, versionId, pkg } = await createPackage(provider.token, provider.app.id);
  await validate(provider.token, id, versionId);
  expectStatus(202, await api.post(`${versionPath(id, versionId)}/submit`, undefined, { token: provider.token }));
  await versionInState(provider.token, id, versionId, "published");
  const capability: CapabilityUnderTest = {
    packageId: id,
    slug: pkg.slug as string,
    capabilityId: "weather_forecast",
    versionId,
    accountId: provider.accountId,
    appId: provider.app.id,
  };
  return { packageId: id, versionId, capability, ref: `${capability.slug}.weather_forecast` };
}

export interface CapabilityUnderTest {
  packageId: string;
  slug: string;
  capabilityId: string;
  versionId: string;
  accountId: string;
  appId: string;
}

export interface Call {
  at: Date;
  latencyMs: number;
  status?: "ok" | "error";
  errorClass?: InvocationDoc["errorClass"];
}

/** An invocation record exactly as the capabilities engine writes it (functions/src/surfaces/capabilities/model.ts). */
function invocationRecord(c: CapabilityUnderTest, call: Call): InvocationDoc {
  const status = call.status ?? (call.errorClass ? "error" : "ok");
  const httpStatus = call.errorClass === "http_5xx" ? 503 : call.errorClass === "http_4xx" ? 400 : status === "ok" ? 200 : null;
  return {
    capabilityKey: `${c.packageId}/${c.capabilityId}`,
    capabilityRef: `${c.slug}.${c.capabilityId}`,
    packageId: c.packageId,
    capabilityId: c.capabilityId,
    versionId: c.versionId,
    accountId: c.accountId,
    appId: c.appId,
    bindingId: null,
    kind: "invoke",
    action: null,
    source: "sync",
    status,
    httpStatus,
    errorClass: status === "ok" ? null : (call.errorClass ?? "http_5xx"),
    errorMessage: status === "ok" ? null : "generated failure",
    latencyMs: call.latencyMs,
    requestBytes: 120,
    responseBytes: status === "ok" ? 800 : 0,
    at: call.at,
  };
}

/**
 * Writes generated invocation records into `invocations` with the Admin SDK, as the engine would,
 * and waits until the quality trigger (running in the Functions emulator) has counted every one:
 * each counted invocation leaves its idempotency marker in processedEvents.
 */
export async function recordGeneratedInvocations(c: CapabilityUnderTest, calls: Call[], timeoutMs = 120_000): Promise<string[]> {
  const db = adminDb();
  const ids = calls.map(() => `inv_${randomBytes(10).toString("hex")}`);
  for (let i = 0; i < calls.length; i += 400) {
    const batch = db.batch();
    calls.slice(i, i + 400).forEach((call, j) => batch.create(db.collection("invocations").doc(ids[i + j]!), invocationRecord(c, call)));
    await batch.commit();
  }
  await eventually(
    async () => {
      for (let i = 0; i < ids.length; i += 300) {
        const snaps = await db.getAll(...ids.slice(i, i + 300).map((id) => db.collection("processedEvents").doc(`quality-rollup:${id}`)));
        if (snaps.some((s) => !s.exists)) return false;
      }
      return true;
    },
    timeoutMs,
    `the quality trigger to count ${ids.length} invocations`,
  );
  return ids;
}

/** `n` calls spread evenly over [from, to). */
export function spread(n: number, from: Date, to: Date, call: (i: number) => Omit<Call, "at">): Call[] {
  const step = (to.getTime() - from.getTime()) / n;
  return Array.from({ length: n }, (_, i) => ({ at: new Date(from.getTime() + Math.floor(i * step)), ...call(i) }));
}

import { randomBytes } from "node:crypto";
import { adminDb } from "./admin";
import { completeListing, weatherForecast } from "./descriptors";
import { api, type ApiResponse, expectStatus } from "./http";
import { eventually, type SampleProvider, startSampleProvider } from "./sampleProvider";
import { accessToken, createApp, registerRuntimeApp, verifiedProvider } from "./stories";

export { eventually };

export const MANAGE = "/v1/providers/packages/manage";
export const REVIEWS = "/v1/providers/packages/reviews";

export const uniqueSlug = (tag = "pkg") => `${tag}-${randomBytes(5).toString("hex")}`;

/** A complete data_only weather package for `appId`; override any field of the create body. */
export function packageBody(appId: string, overrides: Record<string, unknown> = {}) {
  return {
    appId,
    name: "Acme Weather",
    slug: uniqueSlug(),
    riskTier: "data_only",
    capabilities: [weatherForecast()],
    ...completeListing(),
    ...overrides,
  };
}

export async function createPackage(token: string, appId: string, overrides: Record<string, unknown> = {}) {
  const res = await api.post(MANAGE, packageBody(appId, overrides), { token });
  expectStatus(201, res);
  const pkg = res.body.data;
  return { pkg, versionId: pkg.versions[0].id as string, id: pkg.id as string };
}

export const versionPath = (packageId: string, versionId: string) => `${MANAGE}/${packageId}/versions/${versionId}`;

/** Validates and waits for the finished run (`?wait=true`). */
export async function validate(token: string, packageId: string, versionId: string) {
  const res = await api.post(`${versionPath(packageId, versionId)}/validate?wait=true`, undefined, { token });
  expectStatus(200, res);
  return res.body.data;
}

/** A data_only package of `appId` (the app needs a runtime), taken through the packages API into the catalog; returns its id. */
export async function listedPackage(token: string, appId: string, overrides: Record<string, unknown> = {}) {
  const { id, versionId } = await createPackage(token, appId, overrides);
  await validate(token, id, versionId);
  expectStatus(202, await api.post(`${versionPath(id, versionId)}/submit`, undefined, { token }));
  await versionInState(token, id, versionId, "published");
  return id;
}

/** Polls the version until it reaches `state`. */
export async function versionInState(token: string, packageId: string, versionId: string, state: string, timeoutMs = 30_000) {
  return eventually(
    async () => {
      const res: ApiResponse = await api.get(versionPath(packageId, versionId), { token });
      expectStatus(200, res);
      return res.body.data.state === state ? res.body.data : undefined;
    },
    timeoutMs,
    `version ${versionId} to reach ${state}`,
  );
}

/** The queued review of `versionId`, found in the reviewer queue (oldest first, paged through). */
export async function queuedReview(reviewerToken: string, versionId: string) {
  return eventually(
    async () => {
      for (let offset = 0; ; offset += 100) {
        const page = await api.get(`${REVIEWS}?limit=100&offset=${offset}`, { token: reviewerToken });
        expectStatus(200, page);
        const found = page.body.data.find((r: { versionId: string }) => r.versionId === versionId);
        if (found || !page.body.meta.pagination.hasMore) return found;
      }
    },
    30_000,
    `review of ${versionId} in the queue`,
  );
}

/** Starts a sample provider runtime before the file's tests and stops it after them; call the result to get it. */
export function useSampleProvider(): () => SampleProvider {
  let provider: SampleProvider | undefined;
  beforeAll(async () => {
    provider = await startSampleProvider();
  });
  afterAll(() => provider?.close());
  return () => provider!;
}

/** Registers `provider` as the runtime of `app` through the Provider Runtime API, with its API key as the auth profile. */
export async function registerSampleRuntime(app: { id: string; client_id: string; client_secret: string }, provider: SampleProvider) {
  const access = await accessToken(app.client_id, app.client_secret);
  const runtime = await registerRuntimeApp(access, app.id, provider.url);
  const profile = { type: "api_key", headerName: provider.config.apiKeyHeader, value: provider.config.apiKey };
  expectStatus(200, await api.put(`/v1/providers/runtime/apps/${runtime.id}/auth-profile`, profile, { token: access }));
  return { runtimeAppId: runtime.id, access };
}

/**
 * A verified provider with an app, on the pro plan (package stories poll, and the free plan allows
 * 100 requests a minute), whose runtime is `provider` (none when null).
 */
export async function packageProvider(provider: SampleProvider | null, company = "Sunny Data Ltd") {
  const developer = await verifiedProvider(company);
  await adminDb().collection("accounts").doc(developer.accountId).update({ planTier: "pro" });
  const app = await createApp(developer.token);
  const runtime = provider ? await registerSampleRuntime(app, provider) : null;
  return { ...developer, app, runtime };
}

/** The invocations of `capability` the provider received, with their parsed bodies. */
export const invocationsOf = (provider: SampleProvider, capability = "weather_forecast") =>
  provider.requests.filter((r) => r.path === `/capabilities/${capability}/invoke`).map((r) => ({ ...r, json: JSON.parse(r.body || "null") }));

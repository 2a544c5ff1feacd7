/**
 * The console's one data layer: every API call goes through the typed SDK (@aiffinity/sdk, generated
 * from the API's OpenAPI document) from here, and components use these functions through TanStack
 * Query. Developer routes (account, apps, packages, reviews) carry the Firebase ID token of the
 * signed-in user; runtime and capabilities routes carry an access token of the app being managed,
 * issued to its signed-in owner (POST /v1/providers/apps/{id}/access-token), so the console never
 * needs a client secret.
 */
import { Aiffinity, AiffinityError, type Pagination, type RequestBody, type Schema } from "@aiffinity/sdk";
import { idToken } from "./auth";

export { AiffinityError };
export type { Pagination, Schema };

export const PAGE_SIZE = 20;

export const api = new Aiffinity({
  baseUrl: window.location.origin,
  idToken: () => idToken(),
  // A person is waiting: retry a 429/503 briefly, then show the error.
  retry: { retries: 2, maxDelayMs: 5_000 },
  timeoutMs: 60_000,
});

export interface Page<T> {
  items: T[];
  pagination: Pagination;
}

const path = <T extends Record<string, string>>(p: T) => ({ params: { path: p } });

// ---------- Account ----------

export const createAccount = (body: { company_name: string; email: string; password: string }) => api.post("/v1/providers/account", { body });
export const verifyEmail = (token: string) => api.post("/v1/providers/account/verify", { body: { token } });
export const resendVerification = (email: string) => api.post("/v1/providers/account/verify/resend", { body: { email } });
export const getAccount = () => api.get("/v1/providers/account");
export type AccountUpdate = { company_name?: string; contact_email?: string; notification_preferences?: Partial<Schema<"NotificationPreferences">> };
export const updateAccount = (body: AccountUpdate) => api.patch("/v1/providers/account", { body });

/** The plan's rate limit and what is left of it this minute, from the headers of a real answer. */
export async function rateLimitUsage() {
  const { data, response } = await api.request("get", "/v1/providers/account");
  const number = (name: string) => {
    const value = response.headers.get(name);
    return value === null ? null : Number(value);
  };
  return {
    account: data,
    limit: number("x-ratelimit-limit"),
    remaining: number("x-ratelimit-remaining"),
    resetAt: number("x-ratelimit-reset"),
    requestId: response.headers.get("x-request-id"),
  };
}

// ---------- Apps ----------

export const listApps = (offset = 0, limit = PAGE_SIZE): Promise<Page<Schema<"App">>> =>
  api.list("/v1/providers/apps", { params: { query: { limit, offset } } });
export const getApp = (id: string) => api.get("/v1/providers/apps/{id}", path({ id }));
export type AppInput = { name: string; description?: string; redirect_uris?: string[]; webhook_url?: string | null };
export const createApp = (body: AppInput) => api.post("/v1/providers/apps", { body });
export const updateApp = (id: string, body: Partial<AppInput>) => api.patch("/v1/providers/apps/{id}", { ...path({ id }), body });
export const rotateAppSecret = (id: string) => api.post("/v1/providers/apps/{id}/rotate-secret", path({ id }));
export const deleteApp = (id: string) => api.delete("/v1/providers/apps/{id}", path({ id }));

// ---------- App access tokens (runtime and capabilities routes) ----------

const appTokens = new Map<string, { token: string; expiresAt: number }>();
const pendingTokens = new Map<string, Promise<string>>();

/** The app's access token, cached until a minute before it expires; concurrent callers share one request. */
function appToken(appId: string, force = false): Promise<string> {
  const cached = appTokens.get(appId);
  if (!force && cached && cached.expiresAt - 60_000 > Date.now()) return Promise.resolve(cached.token);
  let pending = pendingTokens.get(appId);
  if (!pending) {
    pending = api
      .post("/v1/providers/apps/{id}/access-token", path({ id: appId }))
      .then((issued) => {
        appTokens.set(appId, { token: issued.access_token, expiresAt: Date.now() + issued.expires_in * 1000 });
        return issued.access_token;
      })
      .finally(() => pendingTokens.delete(appId));
    pendingTokens.set(appId, pending);
  }
  return pending;
}

/** Runs a call with the app's access token, renewing it once if the API answers 401. */
async function asApp<T>(appId: string, call: (headers: { authorization: string }) => Promise<T>): Promise<T> {
  try {
    return await call({ authorization: `Bearer ${await appToken(appId)}` });
  } catch (error) {
    if (!(error instanceof AiffinityError) || error.status !== 401) throw error;
    return call({ authorization: `Bearer ${await appToken(appId, true)}` });
  }
}

export const forgetAppToken = (appId: string) => appTokens.delete(appId);

// ---------- Runtime ----------

export type RuntimeApp = Schema<"RuntimeApp">;

/** The runtime app bound to a console app, or null (one runtime app per console app). */
export async function runtimeOfApp(appId: string): Promise<RuntimeApp | null> {
  const page = await asApp(appId, (headers) => api.list("/v1/providers/runtime/apps", { params: { query: { limit: 100, offset: 0 } }, headers }));
  return page.items.find((r) => r.appId === appId) ?? null;
}
export const registerRuntime = (appId: string, body: { endpointUrl: string; displayName?: string }) =>
  asApp(appId, (headers) => api.post("/v1/providers/runtime/apps", { body: { appId, ...body }, headers }));
export const updateRuntime = (appId: string, id: string, body: { endpointUrl?: string; displayName?: string; status?: "active" | "paused" }) =>
  asApp(appId, (headers) => api.patch("/v1/providers/runtime/apps/{id}", { ...path({ id }), body, headers }));
export type AuthProfileInput = RequestBody<"/v1/providers/runtime/apps/{id}/auth-profile", "put">;
export const putAuthProfile = (appId: string, id: string, body: AuthProfileInput) =>
  asApp(appId, (headers) => api.put("/v1/providers/runtime/apps/{id}/auth-profile", { ...path({ id }), body, headers }));
export type CapabilityTemplateInput = RequestBody<"/v1/providers/runtime/apps/{id}/capability-template", "put">;
export const putCapabilityTemplate = (appId: string, id: string, body: CapabilityTemplateInput) =>
  asApp(appId, (headers) => api.put("/v1/providers/runtime/apps/{id}/capability-template", { ...path({ id }), body, headers }));
export type WebhookProfileInput = RequestBody<"/v1/providers/runtime/apps/{id}/webhook-profile", "put">;
export const putWebhookProfile = (appId: string, id: string, body: WebhookProfileInput) =>
  asApp(appId, (headers) => api.put("/v1/providers/runtime/apps/{id}/webhook-profile", { ...path({ id }), body, headers }));
export const sendTestWebhook = (appId: string, id: string) =>
  asApp(appId, (headers) => api.post("/v1/providers/runtime/apps/{id}/webhook-profile/test", { ...path({ id }), headers }));
export const listDeliveries = (appId: string, id: string, offset = 0, limit = PAGE_SIZE): Promise<Page<Schema<"WebhookDelivery">>> =>
  asApp(appId, (headers) => api.list("/v1/providers/runtime/apps/{id}/webhook-profile/deliveries", { params: { path: { id }, query: { limit, offset } }, headers }));
export const rotateSigningSecret = (appId: string, id: string) =>
  asApp(appId, (headers) => api.put("/v1/providers/runtime/apps/{id}/credential-secret", { ...path({ id }), body: {}, headers }));
export const probeHealth = (appId: string, id: string) =>
  asApp(appId, (headers) => api.get("/v1/providers/runtime/apps/{id}/health", { ...path({ id }), headers }));

// ---------- Packages ----------

export type PackageStatus = Schema<"PackageStatus">;
export const listPackages = (status: PackageStatus | undefined, offset = 0, limit = PAGE_SIZE): Promise<Page<Schema<"Package">>> =>
  api.list("/v1/providers/packages/manage", { params: { query: { limit, offset, ...(status ? { status } : {}) } } });
export const getPackage = (id: string) => api.get("/v1/providers/packages/manage/{id}", path({ id }));
export type CreatePackageInput = RequestBody<"/v1/providers/packages/manage", "post">;
export const createPackage = (body: CreatePackageInput) => api.post("/v1/providers/packages/manage", { body });
export type UpdatePackageInput = { name?: string; description?: string; category?: Schema<"PackageCategory"> | null; privacyPolicyUrl?: string | null; supportUrl?: string | null };
export const updatePackage = (id: string, body: UpdatePackageInput) =>
  api.patch("/v1/providers/packages/manage/{id}", { ...path({ id }), body: body as never });
export const deprecatePackage = (id: string, reason: string) => api.post("/v1/providers/packages/manage/{id}/deprecate", { ...path({ id }), body: { reason } });
export type CreateVersionInput = RequestBody<"/v1/providers/packages/manage/{id}/versions", "post">;
export const createVersion = (id: string, body: CreateVersionInput) => api.post("/v1/providers/packages/manage/{id}/versions", { ...path({ id }), body });
export const getVersion = (id: string, vid: string) => api.get("/v1/providers/packages/manage/{id}/versions/{vid}", path({ id, vid }));
export type UpdateVersionInput = RequestBody<"/v1/providers/packages/manage/{id}/versions/{vid}", "patch">;
export const updateVersion = (id: string, vid: string, body: UpdateVersionInput) =>
  api.patch("/v1/providers/packages/manage/{id}/versions/{vid}", { ...path({ id, vid }), body });
export const startValidation = (id: string, vid: string) => api.post("/v1/providers/packages/manage/{id}/versions/{vid}/validate", path({ id, vid }));
export const listValidationRuns = (id: string, vid: string, offset = 0, limit = 5): Promise<Page<Schema<"ValidationRun">>> =>
  api.list("/v1/providers/packages/manage/{id}/versions/{vid}/validations", { params: { path: { id, vid }, query: { limit, offset } } });
export const getValidationRun = (id: string, vid: string, runId: string) =>
  api.get("/v1/providers/packages/manage/{id}/versions/{vid}/validations/{runId}", path({ id, vid, runId }));
export const submitVersion = (id: string, vid: string) => api.post("/v1/providers/packages/manage/{id}/versions/{vid}/submit", path({ id, vid }));
export const publishVersion = (id: string, vid: string) => api.post("/v1/providers/packages/manage/{id}/versions/{vid}/publish", path({ id, vid }));
export const rollBackVersion = (id: string, vid: string, reason?: string) =>
  api.post("/v1/providers/packages/manage/{id}/versions/{vid}/rollback", { ...path({ id, vid }), body: reason ? { reason } : {} });
export const deprecateVersion = (id: string, vid: string, reason: string) =>
  api.post("/v1/providers/packages/manage/{id}/versions/{vid}/deprecate", { ...path({ id, vid }), body: { reason } });

// ---------- Sandbox ----------

export const listScenarios = (appId: string, offset = 0, limit = PAGE_SIZE): Promise<Page<Schema<"SandboxScenario">>> =>
  asApp(appId, (headers) => api.list("/v1/providers/capabilities/sandbox/scenarios", { params: { query: { limit, offset } }, headers }));
export type ScenarioInput = RequestBody<"/v1/providers/capabilities/sandbox/scenarios", "post">;
export const createScenario = (appId: string, body: ScenarioInput) =>
  asApp(appId, (headers) => api.post("/v1/providers/capabilities/sandbox/scenarios", { body, headers }));
export const runScenario = (appId: string, scenarioId: string) =>
  asApp(appId, (headers) => api.post("/v1/providers/capabilities/sandbox/run", { body: { scenarioId }, headers }));
export const listTraces = (appId: string, offset = 0, limit = 10): Promise<Page<Schema<"SandboxTrace">>> =>
  asApp(appId, (headers) => api.list("/v1/providers/capabilities/sandbox/traces", { params: { query: { limit, offset } }, headers }));

// ---------- Quality ----------

export const listBaselines = (appId: string, offset = 0, limit = 10): Promise<Page<Schema<"CapabilityBaseline">>> =>
  asApp(appId, (headers) => api.list("/v1/providers/capabilities/baselines", { params: { query: { limit, offset, series: "daily" } }, headers }));
export type AlertFilters = { status?: Schema<"QualityAlertStatus">; severity?: Schema<"QualityAlertSeverity"> };
export const listAlerts = (appId: string, filters: AlertFilters, offset = 0, limit = PAGE_SIZE): Promise<Page<Schema<"QualityAlert">>> =>
  asApp(appId, (headers) => api.list("/v1/providers/capabilities/alerts", { params: { query: { limit, offset, ...filters } }, headers }));
export const listCertifications = (appId: string, offset = 0, limit = 10): Promise<Page<Schema<"Certification">>> =>
  asApp(appId, (headers) => api.list("/v1/providers/capabilities/certification", { params: { query: { limit, offset } }, headers }));

// ---------- Reviews (reviewers) ----------

export type ReviewStatus = Schema<"ReviewStatus">;
export const listReviews = (status: ReviewStatus | undefined, offset = 0, limit = PAGE_SIZE): Promise<Page<Schema<"Review">>> =>
  api.list("/v1/providers/packages/reviews", { params: { query: { limit, offset, ...(status ? { status } : {}) } } });
export const getReview = (reviewId: string) => api.get("/v1/providers/packages/reviews/{reviewId}", path({ reviewId }));
export const claimReview = (reviewId: string) => api.post("/v1/providers/packages/reviews/{reviewId}/claim", path({ reviewId }));
export const approveReview = (reviewId: string, notes?: string) =>
  api.post("/v1/providers/packages/reviews/{reviewId}/approve", { ...path({ reviewId }), body: notes ? { notes } : {} });
export const rejectReview = (reviewId: string, reasons: { message: string; path?: string }[], notes?: string) =>
  api.post("/v1/providers/packages/reviews/{reviewId}/reject", { ...path({ reviewId }), body: { reasons, ...(notes ? { notes } : {}) } });

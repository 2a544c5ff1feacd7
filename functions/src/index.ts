/**
 * The Cloud Functions of the platform, and nothing else: each HTTP surface wraps its own Express
 * app (src/api.ts builds them); background work lives in src/jobs. Background functions are named
 * `<area><Agent>` (docs/architecture.md#background-work).
 */
import { setGlobalOptions } from "firebase-functions/v2";
import { onDocumentCreated } from "firebase-functions/v2/firestore";
import { onRequest } from "firebase-functions/v2/https";
import { onMessagePublished } from "firebase-functions/v2/pubsub";
import { onSchedule } from "firebase-functions/v2/scheduler";
import { buildSurfaces } from "./api";
import { benchFloorEnabled, benchFloorSurface } from "./surfaces/benchFloor/routes";
import { REGION, secrets } from "./kernel/config";
import { installFrameworkBodyGuard, installFrameworkPathGuard } from "./kernel/http/bodyGuard";
import { addRequestHook, createSurfaceApp, type Surface } from "./kernel/http/surface";
import { rateLimitHook } from "./kernel/http/rateLimit";
import { RuntimeAppProber } from "./domain/conformance/runtimeProber";
import { conformanceRuns } from "./domain/conformance/validationRun";
import { packageSubmissions } from "./domain/packages/review";
import { webhookDeliveryAttempts } from "./domain/runtime/webhookDelivery";
import { foldCounters } from "./jobs/catalogCounters";
import { CatalogSync, catalogSyncs } from "./jobs/catalogSync";
import { ConformanceRunner } from "./jobs/conformance";
import { sweepOrphanedPackages } from "./jobs/orphans";
import { EVALUATION_SCHEDULE, evaluateQuality, recordInvocation } from "./jobs/quality";
import { SubmissionChecker } from "./jobs/submissions";
import { dispatchEventDocument, handleDeliveryMessage, pumpDueWebhookDeliveries } from "./jobs/webhooks";

installFrameworkBodyGuard();
installFrameworkPathGuard();
setGlobalOptions({ region: REGION, maxInstances: 20 });
// The plan rate limit on every route of every surface (docs/rate-limits.md).
addRequestHook(rateLimitHook());

const surfaces = buildSurfaces();
// CORS is the kernel's (createSurfaceApp: any origin, and preflights carry the rate-limit headers):
// `cors: false` makes the platform's own CORS layer (always on in the emulator) pass requests through.
const http = { cors: false };
const withPlatform = (surface: Surface): Surface => ({ name: surface.name, routes: [...surface.routes, ...surfaces.platform.routes] });

// ---------- HTTP: one function per API surface ----------

/**
 * Developer Console API (account, apps; signs apps' access tokens for the console; seals the
 * idempotent replay of a new app's secret); also answers the OpenAPI document and unknown paths.
 */
export const consoleApi = onRequest(
  { ...http, secrets: [secrets.tokenSigningKeys, secrets.dataEncryptionKey] },
  createSurfaceApp(withPlatform(surfaces.console)),
);
/** Package Management API. */
export const packagesApi = onRequest(http, createSurfaceApp(surfaces.packages));
/** Provider Runtime API and the OAuth token endpoint (signs tokens; seals and opens provider credentials). */
export const runtimeApi = onRequest({ ...http, secrets: [secrets.tokenSigningKeys, secrets.dataEncryptionKey] }, createSurfaceApp(surfaces.runtime));
/** Provider Capabilities API (long timeout for Server-Sent Events; verifies tokens, calls providers). */
export const capabilitiesApi = onRequest(
  { ...http, timeoutSeconds: 3600, secrets: [secrets.tokenSigningKeys, secrets.dataEncryptionKey] },
  createSurfaceApp(surfaces.capabilities),
);
/** Catalog & Install API (the key derives the pseudonymous user ids providers see; each instance holds the catalog's read model). */
export const catalogApi = onRequest({ ...http, memory: "512MiB", secrets: [secrets.dataEncryptionKey] }, createSurfaceApp(surfaces.catalog));
/**
 * The benchmarks' floor (verify a token, read one document; functions/bench): only on the
 * emulators with AIFFINITY_BENCH_FLOOR=1, never in the deploy manifest. No rate limit hook.
 */
export const benchFloor = benchFloorEnabled()
  ? onRequest({ ...http, secrets: [secrets.tokenSigningKeys] }, createSurfaceApp(benchFloorSurface(), { hooks: [] }))
  : undefined;

// ---------- Packages: validation and review ----------

const conformance = new ConformanceRunner({ prober: new RuntimeAppProber() });
const submissions = new SubmissionChecker();

/** Runs a requested conformance validation. Idempotent per message id. */
export const conformanceRunner = onMessagePublished(
  // The key opens the runtime app's auth profile secrets, which the probes authenticate with.
  { topic: conformanceRuns.name, secrets: [secrets.dataEncryptionKey], timeoutSeconds: 300, memory: "512MiB", retry: true },
  (event) => conformance.handle(event.data.message),
);

/** Automated policy checks of a submitted version: auto-listing (data_only) or the review queue. Idempotent per message id. */
export const submissionChecker = onMessagePublished({ topic: packageSubmissions.name, timeoutSeconds: 60, retry: true }, (event) =>
  submissions.handle(event.data.message),
);

/** Removes packages orphaned for 30 days from the catalog. */
export const orphanSweeper = onSchedule({ schedule: "every 60 minutes", timeoutSeconds: 540 }, async (event) => {
  await sweepOrphanedPackages(new Date(event.scheduleTime));
});

// ---------- Webhooks ----------

/** Step 1: each provider event (the outbox) becomes one delivery per subscribed endpoint. */
export const webhookDispatcher = onDocumentCreated({ document: "providerEvents/{eventId}", retry: true }, async (event) => {
  await dispatchEventDocument(event.params.eventId, event.data?.data());
});

/** Step 2: one attempt of one delivery (signed with the app's secrets, hence the key). */
export const webhookDeliverer = onMessagePublished(
  { topic: webhookDeliveryAttempts.name, secrets: [secrets.dataEncryptionKey], timeoutSeconds: 120, retry: true },
  (event) => handleDeliveryMessage(event.data.message),
);

/** Step 3: resumes due retries (long backoffs, lost messages, crashed attempts). */
export const webhookRetryPump = onSchedule({ schedule: "every 1 minutes", timeoutSeconds: 120 }, async (event) => {
  await pumpDueWebhookDeliveries(new Date(event.scheduleTime));
});

// ---------- Quality ----------

/** Step 1: each recorded invocation is added to its capability's rollup shard. Idempotent per invocation. */
export const qualityRollupRecorder = onDocumentCreated({ document: "invocations/{invocationId}", retry: true }, async (event) => {
  await recordInvocation(event.params.invocationId, event.data?.data(), new Date(event.time));
});

/** Step 2: folds closed slots into rollups, opens and resolves alerts, moves certification tiers. */
export const qualityEvaluator = onSchedule({ schedule: EVALUATION_SCHEDULE, timeoutSeconds: 300 }, async (event) => {
  await evaluateQuality(new Date(event.scheduleTime));
});

// ---------- Catalog: data sync and counters ----------

const catalogSync = new CatalogSync({});

/** Data sync, step 1: claims the bindings due now (spread per provider app) and fans them out (docs/catalog.md#data-sync). */
export const catalogSyncScheduler = onSchedule({ schedule: "every 1 minutes", timeoutSeconds: 300 }, async (event) => {
  await catalogSync.dispatchDue(new Date(event.scheduleTime));
});

/** Data sync, step 2: invokes each claimed binding and schedules its next sync. Idempotent per claim. */
export const catalogSyncWorker = onMessagePublished(
  // The key opens the runtime app's auth profile secrets the provider is called with.
  { topic: catalogSyncs.name, secrets: [secrets.dataEncryptionKey], timeoutSeconds: 180, retry: true },
  async (event) => {
    await catalogSync.runMessage(event.data.message);
  },
);

/** Folds install counts and ratings into the catalog's sort keys (the counts shown are exact regardless). */
export const catalogCounterFolder = onSchedule({ schedule: "every 1 minutes", timeoutSeconds: 120 }, async (event) => {
  await foldCounters(new Date(event.scheduleTime));
});

/**
 * Cloud Functions entry point: declares triggers only. Each API surface is one HTTPS function
 * wrapping its own Express app; background work lives in the surfaces' jobs.
 */
import { setGlobalOptions } from "firebase-functions/v2";
import { onDocumentCreated } from "firebase-functions/v2/firestore";
import { onRequest } from "firebase-functions/v2/https";
import { onMessagePublished } from "firebase-functions/v2/pubsub";
import { onSchedule } from "firebase-functions/v2/scheduler";
import { REGION, secrets } from "./kernel/config";
import type { ProviderEvent } from "./kernel/events";
import { installFrameworkBodyGuard } from "./kernel/http/bodyGuard";
import { addRequestHook, createSurfaceApp, Surface } from "./kernel/http/surface";
import { rateLimitHook } from "./kernel/rateLimit";
import { buildSurfaces } from "./surfaces";
import { evaluateQuality, EVALUATION_SCHEDULE } from "./surfaces/capabilities/quality/jobs";
import { recordInvocation } from "./surfaces/capabilities/quality/rollups";
import { RuntimeAppProber } from "./surfaces/packages/conformance/runtimeProber";
import { CONFORMANCE_TOPIC, messageJson, PackageJobs, SUBMISSIONS_TOPIC } from "./surfaces/packages/jobs";
import { engineSync } from "./surfaces/catalog/engine";
import { foldCounters } from "./surfaces/catalog/jobs";
import { CatalogSync, SYNC_TOPIC } from "./surfaces/catalog/sync";
import { sweepOrphanedPackages } from "./surfaces/packages/orphans";
import { deliverWebhookMessage, DeliveryMessage, dispatchProviderEvent, pumpDueWebhookDeliveries, WEBHOOK_DELIVERY_TOPIC } from "./surfaces/runtime/webhooks";

installFrameworkBodyGuard();
setGlobalOptions({ region: REGION, maxInstances: 20 });
// The plan rate limit on every route of every surface (docs/rate-limits.md).
addRequestHook(rateLimitHook());

const surfaces = buildSurfaces();
// Any origin may call the API from a browser: it authenticates with bearer tokens, never cookies.
const http = { cors: "*" };
const withPlatform = (surface: Surface): Surface => ({ name: surface.name, routes: [...surface.routes, ...surfaces.platform.routes] });

/** Developer Console API (account, apps); also answers the OpenAPI document and unknown paths. */
export const consoleApi = onRequest(http, createSurfaceApp(withPlatform(surfaces.console)));
/** Package Management API. */
export const packagesApi = onRequest(http, createSurfaceApp(surfaces.packages));
/** Provider Runtime API and the OAuth token endpoint (signs tokens; seals and opens provider credentials). */
export const runtimeApi = onRequest({ ...http, secrets: [secrets.tokenSigningKeys, secrets.dataEncryptionKey] }, createSurfaceApp(surfaces.runtime));
/** Provider Capabilities API (long timeout for Server-Sent Events; verifies tokens, calls providers). */
export const capabilitiesApi = onRequest(
  { ...http, timeoutSeconds: 3600, secrets: [secrets.tokenSigningKeys, secrets.dataEncryptionKey] },
  createSurfaceApp(surfaces.capabilities),
);
/** Catalog & Install API (the key derives the pseudonymous user ids providers see). */
export const catalogApi = onRequest({ ...http, secrets: [secrets.dataEncryptionKey] }, createSurfaceApp(surfaces.catalog));

/** Removes packages orphaned for 30 days from the catalog. */
export const orphanSweep = onSchedule({ schedule: "every 60 minutes", timeoutSeconds: 540 }, async (event) => {
  await sweepOrphanedPackages(new Date(event.scheduleTime));
});

/** Webhooks, step 1: each provider event (the outbox) becomes one delivery per subscribed endpoint. */
export const dispatchWebhookEvent = onDocumentCreated({ document: "providerEvents/{eventId}", retry: true }, async (event) => {
  const data = event.data?.data();
  if (!data) return;
  await dispatchProviderEvent(event.params.eventId, { ...(data as ProviderEvent), occurredAt: data.occurredAt.toDate() });
});

/** Webhooks, step 2: one attempt of one delivery (signed with the app's secrets, hence the key). */
export const deliverWebhook = onMessagePublished(
  { topic: WEBHOOK_DELIVERY_TOPIC, secrets: [secrets.dataEncryptionKey], timeoutSeconds: 120, retry: true },
  async (event) => {
    await deliverWebhookMessage(event.data.message.json as DeliveryMessage);
  },
);

/** Webhooks, step 3: resumes due retries (long backoffs, lost messages, crashed attempts). */
export const webhookRetryPump = onSchedule({ schedule: "every 1 minutes", timeoutSeconds: 120 }, async (event) => {
  await pumpDueWebhookDeliveries(new Date(event.scheduleTime));
});

const packageJobs = new PackageJobs({ prober: new RuntimeAppProber() });

/** Runs a conformance validation (POST .../validate publishes to this topic). Idempotent per message id. */
export const conformanceRunner = onMessagePublished(
  // The key opens the runtime app's auth profile secrets, which the probes authenticate with.
  { topic: CONFORMANCE_TOPIC, secrets: [secrets.dataEncryptionKey], timeoutSeconds: 300, memory: "512MiB", retry: true },
  (event) =>
  packageJobs.runConformance(messageJson(event.data.message), event.data.message.messageId),
);

/** Automated policy checks of a submitted version: auto-listing (data_only) or the review queue. Idempotent per message id. */
export const submissionChecker = onMessagePublished({ topic: SUBMISSIONS_TOPIC, timeoutSeconds: 60, retry: true }, (event) =>
  packageJobs.checkSubmission(messageJson(event.data.message), event.data.message.messageId),
);

/** Quality, step 1: each recorded invocation is added to its capability's rollup shard. Idempotent per invocation. */
export const qualityRollupRecorder = onDocumentCreated({ document: "invocations/{invocationId}", retry: true }, async (event) => {
  if (!event.data) return;
  await recordInvocation(event.params.invocationId, event.data.data(), new Date(event.time));
});

/** Quality, step 2: folds closed slots into rollups, opens and resolves alerts, moves certification tiers. */
export const qualityEvaluator = onSchedule({ schedule: EVALUATION_SCHEDULE, timeoutSeconds: 300 }, async (event) => {
  await evaluateQuality(new Date(event.scheduleTime));
});

const catalogSync = new CatalogSync({ engine: engineSync });

/** Data sync, step 1: claims the bindings due now (spread per provider app) and fans them out (docs/catalog.md#data-sync). */
export const catalogSyncScheduler = onSchedule({ schedule: "every 1 minutes", timeoutSeconds: 300 }, async (event) => {
  await catalogSync.dispatchDue(new Date(event.scheduleTime));
});

/** Data sync, step 2: invokes each claimed binding through the capabilities engine and schedules its next sync. Idempotent per claim. */
export const catalogSyncWorker = onMessagePublished(
  // The key opens the runtime app's auth profile secrets the provider is called with.
  { topic: SYNC_TOPIC, secrets: [secrets.dataEncryptionKey], timeoutSeconds: 180, retry: true },
  async (event) => {
    await catalogSync.runMessage(messageJson(event.data.message), event.data.message.messageId);
  },
);

/** Folds install counts and ratings into the catalog's sort keys (the counts shown are exact regardless). */
export const catalogCounterFold = onSchedule({ schedule: "every 1 minutes", timeoutSeconds: 120 }, async (event) => {
  await foldCounters(new Date(event.scheduleTime));
});

/**
 * Cloud Functions entry point: declares triggers only. Each API surface is one HTTPS function
 * wrapping its own Express app; background work lives in the surfaces' jobs.
 */
import { setGlobalOptions } from "firebase-functions/v2";
import { onRequest } from "firebase-functions/v2/https";
import { onMessagePublished } from "firebase-functions/v2/pubsub";
import { onSchedule } from "firebase-functions/v2/scheduler";
import { REGION } from "./kernel/config";
import { installFrameworkBodyGuard } from "./kernel/http/bodyGuard";
import { createSurfaceApp, Surface } from "./kernel/http/surface";
import { buildSurfaces } from "./surfaces";
import { RuntimeAppProber } from "./surfaces/packages/conformance/runtimeProber";
import { CONFORMANCE_TOPIC, messageJson, PackageJobs, SUBMISSIONS_TOPIC } from "./surfaces/packages/jobs";
import { sweepOrphanedPackages } from "./surfaces/packages/orphans";

installFrameworkBodyGuard();
setGlobalOptions({ region: REGION, maxInstances: 20 });

const surfaces = buildSurfaces();
// Any origin may call the API from a browser: it authenticates with bearer tokens, never cookies.
const http = { cors: "*" };
const withPlatform = (surface: Surface): Surface => ({ name: surface.name, routes: [...surface.routes, ...surfaces.platform.routes] });

/** Developer Console API (account, apps); also answers the OpenAPI document and unknown paths. */
export const consoleApi = onRequest(http, createSurfaceApp(withPlatform(surfaces.console)));
/** Package Management API. */
export const packagesApi = onRequest(http, createSurfaceApp(surfaces.packages));
/** Provider Runtime API and the OAuth token endpoint. */
export const runtimeApi = onRequest(http, createSurfaceApp(surfaces.runtime));
/** Provider Capabilities API (long timeout for Server-Sent Events). */
export const capabilitiesApi = onRequest({ ...http, timeoutSeconds: 3600 }, createSurfaceApp(surfaces.capabilities));
/** Catalog & Install API. */
export const catalogApi = onRequest(http, createSurfaceApp(surfaces.catalog));

/** Removes packages orphaned for 30 days from the catalog. */
export const orphanSweep = onSchedule({ schedule: "every 60 minutes", timeoutSeconds: 540 }, async (event) => {
  await sweepOrphanedPackages(new Date(event.scheduleTime));
});

const packageJobs = new PackageJobs({ prober: new RuntimeAppProber() });

/** Runs a conformance validation (POST .../validate publishes to this topic). Idempotent per message id. */
export const conformanceRunner = onMessagePublished({ topic: CONFORMANCE_TOPIC, timeoutSeconds: 300, memory: "512MiB", retry: true }, (event) =>
  packageJobs.runConformance(messageJson(event.data.message), event.data.message.messageId),
);

/** Automated policy checks of a submitted version: auto-listing (data_only) or the review queue. Idempotent per message id. */
export const submissionChecker = onMessagePublished({ topic: SUBMISSIONS_TOPIC, timeoutSeconds: 60, retry: true }, (event) =>
  packageJobs.checkSubmission(messageJson(event.data.message), event.data.message.messageId),
);

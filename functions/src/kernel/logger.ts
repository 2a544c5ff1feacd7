import * as logger from "firebase-functions/logger";

/**
 * Every log line the platform writes goes through here, one named function per event, so what we
 * log (and that it never includes secrets, tokens or personal data) can be reviewed in one place.
 */
export const log = {
  unexpectedError(requestId: string, route: string, error: unknown) {
    const err = error instanceof Error ? error : new Error(String(error));
    // Not `message`/`stack` as keys: the logger owns those fields of the entry.
    logger.error("request.failed", { requestId, route, errorName: err.name, errorMessage: err.message, errorStack: err.stack });
  },
  invalidResponse(requestId: string, route: string, issues: unknown) {
    logger.error("response.schema_violation", { requestId, route, issues });
  },
  corruptDocument(path: string, issues: unknown) {
    logger.error("firestore.corrupt_document", { path, issues });
  },
  frameworkBodyGuard(installed: boolean, reason?: string) {
    if (installed) logger.debug("http.body_guard_installed");
    else logger.warn("http.body_guard_unavailable", { reason });
  },
  accountCreated(accountId: string) {
    logger.info("account.created", { accountId });
  },
  accountVerified(accountId: string) {
    logger.info("account.verified", { accountId });
  },
  compensationFailed(step: string, subject: string, error: unknown) {
    logger.error("compensation.failed", { step, subject, errorMessage: error instanceof Error ? error.message : String(error) });
  },
  /** A source was locked out after repeated wrong guesses (scope: login, client_credentials). */
  lockoutStarted(scope: string, subjectHash: string, network: string) {
    logger.warn("security.lockout", { scope, subjectHash, network });
  },
  /** The owner's lockout notice could not be written; the lockout itself holds. */
  lockoutNoticeFailed(scope: string, accountId: string, error: unknown) {
    logger.error("security.lockout_notice_failed", { scope, accountId, errorMessage: error instanceof Error ? error.message : String(error) });
  },
  appDeleted(accountId: string, appId: string, orphanedPackages: number) {
    logger.info("app.deleted", { accountId, appId, orphanedPackages });
  },
  orphanSweep(removed: number, cutoff: string) {
    logger.info("packages.orphan_sweep", { removed, cutoff });
  },
  identityToolkitError(status: number, code: string) {
    logger.warn("identity_toolkit.error", { status, code });
  },
  rateLimiterUnavailable(policy: string, error: unknown) {
    logger.error("rate_limit.unavailable", { policy, errorMessage: error instanceof Error ? error.message : String(error) });
  },
  tokenIssued(appId: string, kid: string) {
    logger.info("oauth.token_issued", { appId, kid });
  },
  tokenRefused(reason: string, clientIdHash: string | null) {
    logger.warn("oauth.token_refused", { reason, clientIdHash });
  },
  signingKeysInvalid(message: string) {
    logger.error("oauth.signing_keys_invalid", { errorMessage: message });
  },
  runtimeAppRegistered(accountId: string, runtimeAppId: string, appId: string) {
    logger.info("runtime_app.registered", { accountId, runtimeAppId, appId });
  },
  runtimeConfigChanged(runtimeAppId: string, part: string) {
    logger.info("runtime_app.config_changed", { runtimeAppId, part });
  },
  providerTokenFetchFailed(runtimeAppId: string, kind: string, status: number | null) {
    logger.warn("provider_auth.token_fetch_failed", { runtimeAppId, kind, status });
  },
  healthProbe(runtimeAppId: string, status: string, latencyMs: number | null, failure: string | null) {
    logger.info("runtime_app.health_probe", { runtimeAppId, status, latencyMs, failure });
  },
  webhookDeliveriesCreated(eventId: string, type: string, count: number) {
    logger.info("webhook.deliveries_created", { eventId, type, count });
  },
  webhookAttempt(deliveryId: string, attempt: number, outcome: string, status: number | null, durationMs: number) {
    logger.info("webhook.attempt", { deliveryId, attempt, outcome, status, durationMs });
  },
  webhookDuplicate(deliveryId: string, attempt: number, reason: string) {
    logger.debug("webhook.duplicate_message", { deliveryId, attempt, reason });
  },
  webhookEndpointDisabled(runtimeAppId: string, reason: string) {
    logger.warn("webhook.endpoint_disabled", { runtimeAppId, reason });
  },
  webhookPumped(count: number) {
    logger.info("webhook.retry_pump", { republished: count });
  },
  webhookPublishFailed(deliveryId: string, error: unknown) {
    logger.warn("webhook.publish_failed", { deliveryId, errorMessage: error instanceof Error ? error.message : String(error) });
  },
  publishFailed(topic: string, subject: string, error: unknown) {
    logger.error("pubsub.publish_failed", { topic, subject, errorMessage: error instanceof Error ? error.message : String(error) });
  },
  jobMessageInvalid(job: string, eventId: string) {
    logger.error("job.invalid_message", { job, eventId });
  },
  jobSkipped(job: string, eventId: string, outcome: string) {
    logger.info("job.skipped", { job, eventId, outcome });
  },
  jobFailed(job: string, eventId: string, error: unknown) {
    const err = error instanceof Error ? error : new Error(String(error));
    logger.error("job.failed", { job, eventId, errorName: err.name, errorMessage: err.message, errorStack: err.stack });
  },
  jobDone(job: string, eventId: string, outcome: string) {
    logger.info("job.done", { job, eventId, outcome });
  },
  installCreated(packageId: string, installId: string) {
    logger.info("catalog.install_created", { packageId, installId });
  },
  installDeleted(packageId: string, installId: string) {
    logger.info("catalog.install_deleted", { packageId, installId });
  },
  catalogIndexFailed(error: unknown) {
    const err = error instanceof Error ? error : new Error(String(error));
    logger.error("catalog.index_listener_failed", { errorName: err.name, errorMessage: err.message });
  },
  catalogSearchCorrected(words: number) {
    logger.info("catalog.search_corrected", { words });
  },
  countersFolded(packages: number, at: string) {
    logger.info("catalog.counters_folded", { packages, at });
  },
  syncDispatched(report: { due: number; dispatched: number; deferred: number; messages: number }) {
    logger.info("catalog.sync_dispatched", report);
  },
  /** One call of a capability on a provider runtime: sizes, timings and classes only (no payloads, no user ids). */
  capabilityInvocation(entry: {
    invocationId: string;
    capabilityKey: string;
    kind: string;
    source: string;
    status: string;
    errorClass: string | null;
    httpStatus: number | null;
    latencyMs: number;
    requestBytes: number;
    responseBytes: number;
  }) {
    (entry.status === "ok" ? logger.info : logger.warn)("capability.invocation", entry);
  },
  capabilityCoalesced(capabilityKey: string, how: "memory" | "lease" | "cache") {
    logger.debug("capability.coalesced", { capabilityKey, how });
  },
  realtimeStream(event: "opened" | "closed" | "failed", capabilityKey: string, detail: Record<string, unknown> = {}) {
    (event === "failed" ? logger.error : logger.info)(`capability.realtime_${event}`, { capabilityKey, ...detail });
  },
  sandboxRun(traceId: string, capabilityKey: string, passed: boolean, errorClass: string | null, latencyMs: number) {
    logger.info("capability.sandbox_run", { traceId, capabilityKey, passed, errorClass, latencyMs });
  },
  idempotentReplay(operation: string, outcome: "replayed" | "waited" | "taken_over") {
    logger.info("idempotency.replay", { operation, outcome });
  },
  resourceLockReleaseFailed(resource: string, error: unknown) {
    // The lease lapses by itself; until then writes to the resource answer 409.
    logger.warn("resource_lock.release_failed", { resource, errorMessage: error instanceof Error ? error.message : String(error) });
  },
  transactionContention(requestId: string, route: string, error: unknown) {
    logger.warn("firestore.transaction_contention", { requestId, route, errorMessage: error instanceof Error ? error.message : String(error) });
  },
  outboundRetried(host: string, reason: string) {
    logger.info("outbound.retried", { host, reason });
  },
  lastInvokedUpdateFailed(runtimeAppId: string, error: unknown) {
    logger.warn("runtime_app.last_invoked_update_failed", { runtimeAppId, errorMessage: error instanceof Error ? error.message : String(error) });
  },
  qualityInvocationInvalid(invocationId: string) {
    logger.error("quality.invocation_invalid", { invocationId });
  },
  qualityEvaluation(summary: Record<string, number | string>) {
    logger.info("quality.evaluation", summary);
  },
  qualityEvaluationFailed(subject: string, error: unknown) {
    const err = error instanceof Error ? error : new Error(String(error));
    logger.error("quality.evaluation_failed", { subject, errorName: err.name, errorMessage: err.message, errorStack: err.stack });
  },
  qualityAlertChanged(alertId: string, capabilityKey: string, metric: string, severity: string, change: string) {
    logger.info("quality.alert", { alertId, capabilityKey, metric, severity, change });
  },
  certificationChanged(packageId: string, from: string, to: string) {
    logger.warn("quality.certification_changed", { packageId, from, to });
  },
};

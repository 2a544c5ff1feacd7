import { type Clock, systemClock } from "../kernel/clock";
import { db } from "../kernel/firebase";
import { parseDocumentData } from "../kernel/firestore";
import { log } from "../kernel/logger";
import { type DeliveredMessage, readMessage } from "../kernel/pubsub";
import { ProviderEventDoc } from "../domain/events/providerEvents";
import { htmlFromParagraphs, queueMail } from "../kernel/mail";
import { OutboundError, outbound } from "../kernel/outbound";
import { signedHeaders } from "../kernel/standardWebhooks";

import {
  dueDeliveries,
  findDelivery,
  webhookDeliveries,
  type DeliveryAttemptDoc,
  type DeliveryMessage,
  type WebhookDelivery,
  deliveryBody,
  deliveryIdFor,
  newDelivery,
  publishDelivery,
  retryDelayMs,
  subscribes,
  webhookDeliveryAttempts,
} from "../domain/runtime/webhookDelivery";
import { findRuntimeApp, runtimeApps, runtimeAppsOfAccount, type RuntimeApp } from "../domain/runtime/runtimeApp";
import { accounts } from "../domain/accounts/account";
import { activeSigningSecrets } from "../domain/runtime/providerClient";
/**
 * Webhook delivery (docs/webhooks.md).
 *
 * 1. `dispatchProviderEvent` (Firestore trigger on `providerEvents`) creates one delivery per
 *    subscribed endpoint, with an id derived from (event, runtime app): a repeated trigger creates
 *    nothing new. It publishes `{deliveryId, attempt: 1}` to the `webhook-deliveries` topic.
 * 2. `deliverWebhookMessage` (Pub/Sub) claims the attempt in a transaction, so a duplicate message
 *    sends nothing; sends the signed request; records the attempt; on failure schedules the next
 *    attempt (exponential backoff with jitter, per the retry policy) and publishes its message.
 *    A message that arrives early waits for its due time if that is near, else leaves it to step 3.
 * 3. `pumpDueWebhookDeliveries` (every minute) republishes deliveries that are due and not held by
 *    a live lease: long backoffs, lost messages and attempts whose worker died all resume there, so
 *    retries survive restarts (all state is in Firestore).
 */

/** A delivery request must finish within this (Standard Webhooks advises short timeouts). */
const DELIVERY_TIMEOUT_MS = 15_000;
/** How long a worker holds an attempt; after that the pump may hand it to another. */
const LEASE_MS = 60_000;
/** Early messages wait in the worker up to this long; later ones are left to the pump. */
const MAX_INLINE_WAIT_MS = 30_000;

/**
 * Turns a provider event into deliveries. Account-wide events (no appId) go to every subscribed
 * runtime app of the account; an app's events go to that app's runtime only.
 */
export async function dispatchProviderEvent(eventId: string, event: ProviderEventDoc, clock: Clock = systemClock): Promise<string[]> {
  const targets = (await runtimeAppsOfAccount(event.accountId)).filter(
    (app) => (event.appId === null || app.appId === event.appId) && subscribes(app, event.type),
  );
  const now = clock.now();
  const body = deliveryBody(eventId, event, event.occurredAt);
  const created: string[] = [];
  for (const app of targets) {
    const id = deliveryIdFor(eventId, app.id);
    const ref = webhookDeliveries().doc(id);
    const isNew = await db().runTransaction(async (tx) => {
      if ((await tx.get(ref)).exists) return false;
      tx.create(ref, newDelivery(app, eventId, event.type, body, now));
      return true;
    });
    if (isNew) created.push(id);
  }
  await Promise.all(created.map((deliveryId) => publishDelivery({ deliveryId, attempt: 1 })));
  log.webhookDeliveriesCreated(eventId, event.type, created.length);
  return created;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Claim = { kind: "claimed"; delivery: WebhookDelivery; app: RuntimeApp } | { kind: "skip"; reason: string } | { kind: "wait"; untilMs: number };

async function claim(message: DeliveryMessage, clock: Clock): Promise<Claim> {
  return db().runTransaction(async (tx) => {
    const now = clock.now();
    const delivery = await findDelivery(message.deliveryId, tx);
    if (!delivery) return { kind: "skip", reason: "unknown delivery" };
    if (delivery.status === "succeeded" || delivery.status === "failed" || delivery.status === "cancelled")
      return { kind: "skip", reason: `already ${delivery.status}` };
    if (message.attempt !== delivery.nextAttempt)
      return { kind: "skip", reason: `attempt ${message.attempt} is not the next (${delivery.nextAttempt})` };
    if (delivery.leaseUntil && delivery.leaseUntil.getTime() > now.getTime()) return { kind: "skip", reason: "attempt in progress elsewhere" };
    if (delivery.nextAttemptAt && delivery.nextAttemptAt.getTime() > now.getTime())
      return { kind: "wait", untilMs: delivery.nextAttemptAt.getTime() };
    const ref = webhookDeliveries().doc(delivery.id);
    // Not a transactional read: that would lock the runtime app, which every delivery of the provider
    // and its invocations' lastInvokedAt write would then queue behind. A profile disabled meanwhile
    // can still get this one attempt, as it could right after the claim.
    const app = await findRuntimeApp(delivery.runtimeAppId);
    const profile = app?.webhookProfile;
    if (!app || !profile || profile.status !== "enabled") {
      // The endpoint is gone or disabled: nothing more will be sent.
      tx.update(ref, { status: "cancelled", nextAttemptAt: null, leaseUntil: null, updatedAt: now, completedAt: now });
      return { kind: "skip", reason: "endpoint removed or disabled" };
    }
    tx.update(ref, { leaseUntil: new Date(now.getTime() + LEASE_MS), updatedAt: now });
    return { kind: "claimed", delivery, app };
  });
}

async function send(delivery: WebhookDelivery, app: RuntimeApp, attempt: number, clock: Clock): Promise<DeliveryAttemptDoc> {
  const startedAt = clock.now();
  const headers = {
    "content-type": "application/json",
    ...signedHeaders(activeSigningSecrets(app, startedAt), delivery.id, Math.floor(startedAt.getTime() / 1000), delivery.body),
  };
  try {
    const response = await outbound({
      url: delivery.url,
      method: "POST",
      headers,
      body: delivery.body,
      timeoutMs: DELIVERY_TIMEOUT_MS,
      maxResponseBytes: 256 * 1024,
    });
    const ok = response.status >= 200 && response.status <= 299;
    return {
      attempt,
      startedAt,
      durationMs: response.durationMs,
      statusCode: response.status,
      outcome: ok ? "succeeded" : response.status === 410 ? "gone" : "http_error",
      error: ok ? null : `Endpoint answered HTTP ${response.status}`,
    };
  } catch (error) {
    if (!(error instanceof OutboundError)) throw error;
    const outcome = error.kind === "http_status" || error.kind === "bad_body" ? "http_error" : error.kind;
    return { attempt, startedAt, durationMs: error.details.durationMs ?? 0, statusCode: error.details.status ?? null, outcome, error: error.message };
  }
}

/** Records the attempt and decides what follows; returns the next message to publish, if any. */
async function record(delivery: WebhookDelivery, result: DeliveryAttemptDoc, clock: Clock, random: () => number): Promise<DeliveryMessage | null> {
  return db().runTransaction(async (tx) => {
    const now = clock.now();
    const ref = webhookDeliveries().doc(delivery.id);
    const current = await findDelivery(delivery.id, tx);
    // Only a 410 changes the runtime app; other outcomes leave it unread (and unlocked).
    const app = result.outcome === "gone" ? await findRuntimeApp(delivery.runtimeAppId, tx) : null;
    const account = app?.webhookProfile ? (await tx.get(accounts().doc(app.accountId))).data() : undefined;
    if (!current || current.nextAttempt !== result.attempt) return null; // someone else recorded it meanwhile
    const attempts = [...current.attempts, result];
    const base = { attempts, leaseUntil: null, updatedAt: now };
    if (result.outcome === "succeeded") {
      tx.update(ref, { ...base, status: "succeeded", nextAttemptAt: null, completedAt: now, nextAttempt: result.attempt + 1 });
      return null;
    }
    if (result.outcome === "gone") {
      // 410 Gone: the receiver asks us to stop. Disable the endpoint and tell the developer.
      tx.update(ref, { ...base, status: "failed", nextAttemptAt: null, completedAt: now, nextAttempt: result.attempt + 1 });
      if (app?.webhookProfile && app.webhookProfile.status === "enabled") {
        const reason = `The endpoint answered 410 Gone on ${now.toISOString()}`;
        tx.update(runtimeApps().doc(app.id), {
          "webhookProfile.status": "disabled",
          "webhookProfile.disabledAt": now,
          "webhookProfile.disabledReason": reason,
          updatedAt: now,
        });
        log.webhookEndpointDisabled(app.id, "gone");
        if (account?.notificationPreferences.webhook_failures) {
          const paragraphs = [
            `Your webhook endpoint ${app.webhookProfile.url} for "${app.displayName}" answered 410 Gone, so Aiffinity disabled it and stopped delivering events to it.`,
            `To receive events again, fix the endpoint and send PUT /v1/providers/runtime/apps/${app.id}/webhook-profile.`,
          ];
          queueMail(
            tx,
            {
              to: account.contactEmail,
              subject: "Your Aiffinity webhook endpoint was disabled",
              text: paragraphs.join("\n\n"),
              html: htmlFromParagraphs(paragraphs),
              category: "webhook_disabled",
            },
            now,
          );
        }
      }
      return null;
    }
    if (result.attempt >= current.retryPolicy.maxAttempts) {
      tx.update(ref, { ...base, status: "failed", nextAttemptAt: null, completedAt: now, nextAttempt: result.attempt + 1 });
      return null;
    }
    const dueAt = new Date(now.getTime() + retryDelayMs(current.retryPolicy, result.attempt, random));
    tx.update(ref, { ...base, status: "retrying", nextAttempt: result.attempt + 1, nextAttemptAt: dueAt });
    return { deliveryId: delivery.id, attempt: result.attempt + 1 };
  });
}

/** Trigger `webhookDispatcher`: a new provider event, as the Firestore trigger delivers it. */
export async function dispatchEventDocument(eventId: string, raw: Record<string, unknown> | undefined): Promise<string[]> {
  const event = parseDocumentData(ProviderEventDoc, raw, `providerEvents/${eventId}`);
  return event ? dispatchProviderEvent(eventId, event) : [];
}

/** Pub/Sub `webhookDeliverer`: one attempt of one delivery. */
export async function handleDeliveryMessage(message: DeliveredMessage): Promise<void> {
  const parsed = readMessage(webhookDeliveryAttempts, message, "webhook-deliverer");
  if (parsed) await deliverWebhookMessage(parsed);
}

/** The Pub/Sub worker: at most one send per (delivery, attempt), however often the message arrives. */
async function deliverWebhookMessage(message: DeliveryMessage, options: { clock?: Clock; random?: () => number } = {}): Promise<void> {
  const clock = options.clock ?? systemClock;
  for (;;) {
    const claimed = await claim(message, clock);
    if (claimed.kind === "skip") return log.webhookDuplicate(message.deliveryId, message.attempt, claimed.reason);
    if (claimed.kind === "wait") {
      const waitMs = claimed.untilMs - clock.now().getTime();
      if (waitMs > MAX_INLINE_WAIT_MS) return; // the pump republishes it when due
      await sleep(Math.max(0, waitMs));
      continue;
    }
    const result = await send(claimed.delivery, claimed.app, message.attempt, clock);
    log.webhookAttempt(claimed.delivery.id, message.attempt, result.outcome, result.statusCode, result.durationMs);
    const next = await record(claimed.delivery, result, clock, options.random ?? Math.random);
    if (next) await publishDelivery(next);
    return;
  }
}

/** Republishes every delivery that is due and not held by a live lease (runs every minute). */
export async function pumpDueWebhookDeliveries(now: Date, batch = 500): Promise<number> {
  const due = (await dueDeliveries(now, batch)).filter((d) => !d.leaseUntil || d.leaseUntil.getTime() <= now.getTime());
  await Promise.all(due.map((d) => publishDelivery({ deliveryId: d.id, attempt: d.nextAttempt })));
  log.webhookPumped(due.length);
  return due.length;
}

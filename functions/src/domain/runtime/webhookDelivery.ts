import { createHash } from "node:crypto";
import type { Transaction } from "firebase-admin/firestore";
import { z } from "zod";
import { type Clock, systemClock } from "../../kernel/clock";
import { newId } from "../../kernel/crypto";
import { newestFirstPage, typedCollection, zDate } from "../../kernel/firestore";
import { log } from "../../kernel/logger";
import { defineTopic, pubsubPublisher } from "../../kernel/pubsub";
import type { ProviderEventDoc } from "../events/providerEvents";
import { RetryPolicy, type RuntimeApp } from "./runtimeApp";

/**
 * Webhook deliveries (docs/webhooks.md): one per (provider event, subscribed runtime app), with
 * every attempt. The delivery jobs (jobs/webhooks.ts) create, send and retry them.
 */

export const DELIVERY_STATUSES = ["pending", "retrying", "succeeded", "failed", "cancelled"] as const;
export const ATTEMPT_OUTCOMES = ["succeeded", "http_error", "gone", "timeout", "connection_refused", "network", "too_large", "url_rejected"] as const;

export const DeliveryAttemptDoc = z.object({
  attempt: z.number().int(),
  startedAt: zDate,
  durationMs: z.number().int(),
  statusCode: z.number().int().nullable(),
  outcome: z.enum(ATTEMPT_OUTCOMES),
  error: z.string().nullable(),
});
export type DeliveryAttemptDoc = z.infer<typeof DeliveryAttemptDoc>;

/** webhookDeliveries/{msg_id}: one event for one endpoint; the id is the `webhook-id` of every attempt. */
export const WebhookDeliveryDoc = z.object({
  accountId: z.string(),
  runtimeAppId: z.string(),
  eventId: z.string(),
  type: z.string(),
  url: z.string(),
  /** The exact bytes sent (and signed) on every attempt. */
  body: z.string(),
  retryPolicy: RetryPolicy,
  status: z.enum(DELIVERY_STATUSES),
  /** The attempt number the next message must carry; older numbers are duplicates. */
  nextAttempt: z.number().int(),
  /** When the next attempt is due; null once the delivery is final. */
  nextAttemptAt: zDate.nullable(),
  /** Set while a worker holds the attempt; a lapsed lease lets the pump retry a crashed attempt. */
  leaseUntil: zDate.nullable(),
  attempts: z.array(DeliveryAttemptDoc),
  createdAt: zDate,
  updatedAt: zDate,
  completedAt: zDate.nullable(),
});
export type WebhookDeliveryDoc = z.infer<typeof WebhookDeliveryDoc>;
export type WebhookDelivery = WebhookDeliveryDoc & { id: string };

export const webhookDeliveries = () => typedCollection("webhookDeliveries", WebhookDeliveryDoc);

export async function findDelivery(id: string, tx?: Transaction): Promise<WebhookDelivery | null> {
  const ref = webhookDeliveries().doc(id);
  const snap = tx ? await tx.get(ref) : await ref.get();
  const data = snap.data();
  return data ? { id: snap.id, ...data } : null;
}

export function listDeliveries(runtimeAppId: string, status: string | undefined, limit: number, offset: number) {
  const base = webhookDeliveries().where("runtimeAppId", "==", runtimeAppId);
  return newestFirstPage(status ? base.where("status", "==", status) : base, limit, offset);
}

/** Deliveries whose next attempt is due by `now` (the retry pump's query; a single-field index). */
export async function dueDeliveries(now: Date, limit: number): Promise<WebhookDelivery[]> {
  const snap = await webhookDeliveries().where("nextAttemptAt", "<=", now).orderBy("nextAttemptAt").limit(limit).get();
  return snap.docs.map((d) => ({ id: d.id, ...d.data() }));
}

/** One attempt of one delivery, for the deliverer (jobs/webhooks.ts). */
export const webhookDeliveryAttempts = defineTopic("webhook-deliveries", z.object({ deliveryId: z.string(), attempt: z.number().int().min(1) }));
export type DeliveryMessage = z.output<typeof webhookDeliveryAttempts.message>;

export async function publishDelivery(message: DeliveryMessage): Promise<void> {
  try {
    await pubsubPublisher.publish(webhookDeliveryAttempts, message);
  } catch (error) {
    // The delivery is due in Firestore already: the pump will publish it.
    log.webhookPublishFailed(message.deliveryId, error);
  }
}

/** The `webhook-id` of an event's delivery to one runtime app: stable, so duplicates collapse. */
export const deliveryIdFor = (eventId: string, runtimeAppId: string) =>
  `msg_${createHash("sha256").update(`${eventId}:${runtimeAppId}`).digest("base64url").slice(0, 27)}`;

/** The delivery body: the event envelope documented in docs/webhooks.md. */
export function deliveryBody(eventId: string, event: Pick<ProviderEventDoc, "type" | "appId" | "data">, occurredAt: Date): string {
  return JSON.stringify({ id: eventId, type: event.type, occurredAt: occurredAt.toISOString(), appId: event.appId, data: event.data });
}

export function subscribes(app: RuntimeApp, type: string): boolean {
  const profile = app.webhookProfile;
  return Boolean(profile && profile.status === "enabled" && (profile.events.includes("*") || profile.events.includes(type)));
}

export function newDelivery(app: RuntimeApp, eventId: string, type: string, body: string, now: Date): WebhookDeliveryDoc {
  return {
    accountId: app.accountId,
    runtimeAppId: app.id,
    eventId,
    type,
    url: app.webhookProfile!.url,
    body,
    retryPolicy: app.webhookProfile!.retryPolicy,
    status: "pending",
    nextAttempt: 1,
    nextAttemptAt: now,
    leaseUntil: null,
    attempts: [],
    createdAt: now,
    updatedAt: now,
    completedAt: null,
  };
}

/** A `webhook.test` delivery to one runtime app, outside the event outbox. */
export async function createTestDelivery(app: RuntimeApp, clock: Clock = systemClock): Promise<WebhookDelivery> {
  const now = clock.now();
  const eventId = newId("evt");
  const event = {
    type: "webhook.test" as const,
    appId: app.appId,
    data: { runtimeAppId: app.id, message: "This is a test delivery from Aiffinity. Answer 2xx to confirm your endpoint works." },
  };
  const id = deliveryIdFor(eventId, app.id);
  const doc = newDelivery(app, eventId, event.type, deliveryBody(eventId, event, now), now);
  await webhookDeliveries().doc(id).create(doc);
  await publishDelivery({ deliveryId: id, attempt: 1 });
  return { id, ...doc };
}

/** Delay before attempt `failed + 1`: exponential from the initial delay, capped, with "equal jitter". */
export function retryDelayMs(policy: RetryPolicy, failedAttempts: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelaySeconds, policy.initialDelaySeconds * 2 ** (failedAttempts - 1)) * 1000;
  return Math.round(base / 2 + random() * (base / 2));
}

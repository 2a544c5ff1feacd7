import type { Transaction, WriteBatch } from "firebase-admin/firestore";
import { z } from "zod";
import { newId } from "../../kernel/crypto";
import { typedCollection, zDate } from "../../kernel/firestore";

/**
 * Provider events: the transactional outbox behind webhooks. A surface records an event in the
 * same transaction as the change it describes (so an event exists exactly when the change does);
 * the webhook dispatcher reads `providerEvents` and delivers each event to the subscribed
 * endpoints. Event types are documented in docs/webhooks.md.
 *
 * Every event type a webhook can subscribe to (docs/webhooks.md describes each payload). */
export const PROVIDER_EVENT_TYPES = [
  "webhook.test",
  "package.validation.completed",
  "package.version.submitted",
  "package.review.queued",
  "package.review.approved",
  "package.review.rejected",
  "package.version.published",
  "package.version.deprecated",
  "package.deprecated",
  "install.created",
  "install.deleted",
  "alert.opened",
  "alert.resolved",
  "certification.changed",
] as const;
export type ProviderEventType = (typeof PROVIDER_EVENT_TYPES)[number];

/** providerEvents/{evt_id}. */
export const ProviderEventDoc = z.object({
  /** Account the event belongs to; only this account's webhook endpoints receive it. */
  accountId: z.string(),
  /** Console app the event concerns (packages and installs belong to one), or null. */
  appId: z.string().nullable(),
  /** Dotted type, e.g. `package.version.published`. */
  type: z.enum(PROVIDER_EVENT_TYPES),
  /** The event's payload, as delivered in the webhook body's `data`. No secrets, no personal data. */
  data: z.record(z.string(), z.unknown()),
  occurredAt: zDate,
});
export type ProviderEventDoc = z.infer<typeof ProviderEventDoc>;
export type ProviderEvent = Omit<ProviderEventDoc, "occurredAt">;

const providerEvents = () => typedCollection("providerEvents", ProviderEventDoc);

export function recordProviderEvent(writer: Transaction | WriteBatch, event: ProviderEvent, now: Date): string {
  const id = newId("evt");
  (writer as WriteBatch).create(providerEvents().doc(id), { ...event, occurredAt: now });
  return id;
}

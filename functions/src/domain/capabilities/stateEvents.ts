import { FieldValue, type Transaction } from "firebase-admin/firestore";
import { z } from "zod";
import { DAY } from "../../kernel/clock";
import { newId } from "../../kernel/crypto";
import { typedCollection, untyped, zDate } from "../../kernel/firestore";
import type { CapabilityStateDoc } from "./state";

/** Change events are kept this long; a realtime client resuming from an older id is told to reload. */
export const EVENT_RETENTION_MS = 7 * DAY;

const STATE_EVENT_TYPES = ["state.updated", "state.invalidated", "state.deleted"] as const;
export type StateEventType = (typeof STATE_EVENT_TYPES)[number];

/**
 * capabilityEvents/{id}: one per change of a capability instance's state, written in the transaction
 * of the change. `at` is a server timestamp (the commit time), so (at, id) orders events as they
 * became visible: the realtime stream's event ids encode it. Kept 7 days (TTL on expiresAt).
 */
export const CapabilityEventDoc = z.object({
  capabilityKey: z.string(),
  capabilityRef: z.string(),
  bindingId: z.string(),
  accountId: z.string(),
  appId: z.string(),
  type: z.enum(STATE_EVENT_TYPES),
  versionId: z.string().nullable(),
  dataJson: z.string().nullable(),
  ttlSeconds: z.number().int().min(0).nullable(),
  fetchedAt: zDate.nullable(),
  invocationId: z.string().nullable(),
  at: zDate,
  expiresAt: zDate,
});
export type CapabilityEventDoc = z.infer<typeof CapabilityEventDoc>;

export const capabilityEvents = () => typedCollection("capabilityEvents", CapabilityEventDoc);

/** The capability and instance an event is about. */
export interface EventSubject {
  key: string;
  ref: string;
  accountId: string;
  appId: string;
}

/** Writes a change event; `at` is the commit time, which orders the realtime stream. */
export function writeStateEvent(
  tx: Transaction,
  subject: EventSubject,
  bindingId: string,
  type: StateEventType,
  state: CapabilityStateDoc | null,
  now: Date,
) {
  // `at` is a server timestamp, which the document schema cannot describe.
  tx.create(untyped(capabilityEvents().doc(newId("cev"))), {
    capabilityKey: subject.key,
    capabilityRef: subject.ref,
    bindingId,
    accountId: subject.accountId,
    appId: subject.appId,
    type,
    versionId: state?.versionId ?? null,
    dataJson: state?.dataJson ?? null,
    ttlSeconds: state ? state.ttlSeconds : null,
    fetchedAt: state?.fetchedAt ?? null,
    invocationId: state?.invocationId ?? null,
    at: FieldValue.serverTimestamp(),
    expiresAt: new Date(now.getTime() + EVENT_RETENTION_MS),
  });
}

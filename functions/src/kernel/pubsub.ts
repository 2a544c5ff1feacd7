import { PubSub } from "@google-cloud/pubsub";
import type { Transaction } from "firebase-admin/firestore";
import { DAY } from "./clock";
import { isEmulator, projectId } from "./config";
import { db } from "./firebase";

/** Publishes a JSON message to a topic; returns the message id. Injectable so tests can hold messages back. */
export interface Publisher {
  publish(topic: string, message: Record<string, unknown>): Promise<string>;
}

let client: PubSub | undefined;
const ensuredTopics = new Set<string>();

/**
 * Pub/Sub through the client library (the emulator when PUBSUB_EMULATOR_HOST is set). Topics of
 * deployed functions are created by `firebase deploy`; on the emulators a topic nobody has
 * subscribed to yet may not exist, so it is created on first use there.
 */
export const pubsubPublisher: Publisher = {
  async publish(topic, message) {
    client ??= new PubSub({ projectId: projectId() });
    if (isEmulator() && !ensuredTopics.has(topic)) {
      const [exists] = await client.topic(topic).exists();
      if (!exists) await client.createTopic(topic).catch((error: { code?: number }) => {
        if (error.code !== 6) throw error; // ALREADY_EXISTS: created meanwhile
      });
      ensuredTopics.add(topic);
    }
    return client.topic(topic).publishMessage({ json: message });
  },
};

/** How long the id of a handled message is remembered; Pub/Sub redelivers within 7 days at most. */
const REMEMBER_MS = 8 * DAY;

const processedRef = (handler: string, eventId: string) => db().collection("processedEvents").doc(`${handler}:${eventId}`);

/**
 * Idempotent event handlers: `wasProcessed` (a read, so it comes first) and `markProcessed` (in the
 * same transaction as the handler's effect), so a redelivered message finds its id and does nothing.
 */
export async function wasProcessed(tx: Transaction, handler: string, eventId: string): Promise<boolean> {
  return (await tx.get(processedRef(handler, eventId))).exists;
}

export function markProcessed(tx: Transaction, handler: string, eventId: string, now: Date): void {
  // `expiresAt` lets a Firestore TTL policy delete old markers.
  tx.create(processedRef(handler, eventId), { handler, eventId, processedAt: now, expiresAt: new Date(now.getTime() + REMEMBER_MS) });
}

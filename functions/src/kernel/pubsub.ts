import { PubSub } from "@google-cloud/pubsub";
import type { Transaction } from "firebase-admin/firestore";
import { z } from "zod";
import { DAY } from "./clock";
import { isEmulator, projectId } from "./config";
import { typedCollection, zDate } from "./firestore";
import { log } from "./logger";

/** A topic and the schema of its messages: publishers and the handler agree on both through it. */
export interface Topic<S extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly message: S;
}

export const defineTopic = <S extends z.ZodType>(name: string, message: S): Topic<S> => ({ name, message });

/** Publishes a JSON message to a topic; returns the message id. Injectable so tests can hold messages back. */
export interface Publisher {
  publish<S extends z.ZodType>(topic: Topic<S>, message: z.input<S>): Promise<string>;
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
    if (isEmulator() && !ensuredTopics.has(topic.name)) {
      const [exists] = await client.topic(topic.name).exists();
      if (!exists)
        await client.createTopic(topic.name).catch((error: { code?: number }) => {
          if (error.code !== 6) throw error; // ALREADY_EXISTS: created meanwhile
        });
      ensuredTopics.add(topic.name);
    }
    return client.topic(topic.name).publishMessage({ json: message });
  },
};

/** A delivered message as a handler receives it (the shape of firebase-functions' Message). */
export interface DeliveredMessage {
  readonly messageId: string;
  /** The parsed JSON payload; the getter throws when the payload is not JSON. */
  readonly json: unknown;
}

/**
 * The payload of a delivered message, validated against its topic's schema, or null when it is not
 * JSON or does not match: such a message is logged and acknowledged, since no redelivery could
 * make it valid.
 */
export function readMessage<S extends z.ZodType>(topic: Topic<S>, message: DeliveredMessage, job: string): z.output<S> | null {
  let payload: unknown;
  try {
    payload = message.json;
  } catch {
    payload = undefined;
  }
  const parsed = topic.message.safeParse(payload);
  if (parsed.success) return parsed.data;
  log.jobMessageInvalid(job, message.messageId);
  return null;
}

/** How long the id of a handled message is remembered; Pub/Sub redelivers within 7 days at most. */
const REMEMBER_MS = 8 * DAY;

/** processedEvents/{handler}:{eventId}: a handled message (or event), deleted by a TTL policy on `expiresAt`. */
const ProcessedEventDoc = z.object({ handler: z.string(), eventId: z.string(), processedAt: zDate, expiresAt: zDate });
const processedRef = (handler: string, eventId: string) => typedCollection("processedEvents", ProcessedEventDoc).doc(`${handler}:${eventId}`);

/**
 * Idempotent event handlers: `wasProcessed` (a read, so it comes first) and `markProcessed` (in the
 * same transaction as the handler's effect), so a redelivered message finds its id and does nothing.
 */
export async function wasProcessed(tx: Transaction, handler: string, eventId: string): Promise<boolean> {
  return (await tx.get(processedRef(handler, eventId))).exists;
}

export function markProcessed(tx: Transaction, handler: string, eventId: string, now: Date): void {
  tx.create(processedRef(handler, eventId), { handler, eventId, processedAt: now, expiresAt: new Date(now.getTime() + REMEMBER_MS) });
}

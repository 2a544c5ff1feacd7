// The serving pool's events dispatcher (emulators/serving/events.mjs) on its own, for its failure
// paths: the functions of failingEventFunctions/ (Pub/Sub triggered, retry: true and retry: false)
// in Functions Framework instances, fed by an EventDispatcher with the retry options given as JSON
// in argv ({portBase, maxAttempts, backoffMs}). Over IPC: {publish: {function, id}} hands the
// dispatcher a Pub/Sub message as the subscription would; the parent is told {ready}, each log line
// ({log, at}), each ack and nack of a message ({ack | nack: id, at}) and, on {status}, the dispatcher's status.
import { Buffer } from "node:buffer";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { EventDispatcher } from "../../../emulators/serving/events.mjs";
import { Pool } from "../../../emulators/serving/pool.mjs";

const FUNCTIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), "failingEventFunctions");
const PROJECT_ID = "demo-aiffinity";
const { portBase, maxAttempts, backoffMs } = JSON.parse(process.argv[2]);

const tell = (message) => process.send({ ...message, at: Date.now() });
const log = (line) => tell({ log: line });
const eventFunction = (name, retry) => ({
  name,
  regions: ["us-central1"],
  concurrency: 1,
  timeoutSeconds: 10,
  secrets: [],
  retry,
  trigger: { kind: "pubsub", eventType: "google.cloud.pubsub.topic.v1.messagePublished", topic: `${name}-probe` },
  signatureType: "cloudevent",
});
const functions = [eventFunction("retriedHandler", true), eventFunction("unretriedHandler", false)];

const pool = new Pool({
  functionsDir: FUNCTIONS_DIR,
  projectId: PROJECT_ID,
  functions,
  instances: 1,
  portBase,
  queue: 10,
  queueTimeoutMs: 10_000,
  log,
});
const dispatcher = new EventDispatcher({
  pool,
  functions,
  instances: 1,
  projectId: PROJECT_ID,
  functionsDir: FUNCTIONS_DIR,
  maxAttempts,
  backoffMs,
  backlog: 10,
  log,
});

process.on("message", (message) => {
  if (message.status) tell({ status: dispatcher.status() });
  if (message.publish) {
    const { function: name, id } = message.publish;
    // The fields of @google-cloud/pubsub's Message that the dispatcher reads.
    dispatcher.onPubsubMessage(
      functions.find((f) => f.name === name),
      { id, data: Buffer.from("{}"), attributes: {}, publishTime: new Date(), ack: () => tell({ ack: id }), nack: () => tell({ nack: id }) },
    );
  }
});
process.on("disconnect", async () => {
  await dispatcher.stop();
  await pool.stop();
  process.exit(0);
});

await pool.start();
tell({ ready: true });

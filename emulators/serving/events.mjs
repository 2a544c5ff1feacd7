// The event functions as production serves them: each one a Cloud Run service (Functions Framework
// instances with --signature-type=cloudevent, in a Pool) fed by Eventarc. Here the feeding is ours:
// - Pub/Sub: a subscription of our own per function, pulled with bounded flow control; each message
//   is POSTed as a binary-mode CloudEvent (google.cloud.pubsub.topic.v1.messagePublished, data
//   {message, subscription}, ce-id = the message id) and acked once the function answers 2xx.
// - Firestore: the Firestore emulator POSTs each event (binary-mode CloudEvent, DocumentEventData as
//   base64 protobuf) to the "functions emulator" it was started with; that address is the hub here
//   (emulators/firestore-launcher), which accepts the event and delivers the raw protobuf.
// A failed delivery (non-2xx, broken connection, dead instance, past the function's timeout) of a
// retry: true function is attempted again with exponential backoff, at most maxAttempts times in all
// (a dead-letter policy's maxDeliveryAttempts), then given up and logged; retry: false gives up at once.
// docs/architecture.md#serving-locally.
import { createServer, request as httpRequest } from "node:http";
import { createRequire } from "node:module";
import { join } from "node:path";
import { PoolRequest } from "./pool.mjs";

const MAX_EVENT_BYTES = 10 * 1024 * 1024;
// Delivery answers are read only to log why an attempt failed.
const MAX_ANSWER_LOG_BYTES = 2048;

const once = (fn) => {
  let called = false;
  return (...args) => {
    if (called) return;
    called = true;
    fn(...args);
  };
};

/** The subscription the pool pulls a function's topic through (the functions emulator's is emulator-sub-<topic>). */
export const subscriptionName = (fn) => `aiffinity-serving-${fn.name}`;

/** The key a Firestore trigger is registered under, and the path the emulator POSTs its events to. */
const triggerKey = (fn) => `${fn.regions[0]}-${fn.name}`;

export class EventDispatcher {
  /**
   * @param {object} options pool (a Pool of the event functions), functions (eventFunctions),
   *   instances (per function), projectId, functionsDir (its @google-cloud/pubsub is used),
   *   maxAttempts, backoffMs ({ first, max }), backlog (Firestore events waiting per function), log
   */
  constructor(options) {
    Object.assign(this, options);
    this.byName = new Map();
    for (const fn of this.functions) {
      const concurrency = this.pool.byName.get(fn.name).concurrency;
      this.byName.set(fn.name, {
        fn,
        // What the function's instances take at once; Pub/Sub's flow control and the hub keep to it.
        capacity: this.instances * concurrency,
        backlog: [],
        inFlight: 0,
        waitingRetry: 0,
        received: 0,
        delivered: 0,
        retried: 0,
        failed: 0,
        dropped: 0,
      });
    }
    this.subscriptions = [];
    this.retryTimers = new Set();
    this.hub = null;
    this.stopped = false;
  }

  /** Topics and subscriptions (created when missing), then the hub and the Firestore triggers. */
  async start({ hubHost, hubPort, firestoreHost }) {
    const pubsubFns = this.functions.filter((f) => f.trigger.kind === "pubsub");
    if (pubsubFns.length) {
      // Against the emulator there are no credentials to find: without this, the client probes for
      // a GCE metadata server and warns (MetadataLookupWarning) when there is none.
      process.env.METADATA_SERVER_DETECTION ??= "none";
      const { PubSub } = createRequire(join(this.functionsDir, "package.json"))("@google-cloud/pubsub");
      this.pubsub = new PubSub({ projectId: this.projectId });
      for (const fn of pubsubFns) await this.subscribe(fn);
    }
    const firestoreFns = this.functions.filter((f) => f.trigger.kind === "firestore");
    if (firestoreFns.length) {
      await this.listenHub(hubHost, hubPort);
      for (const fn of firestoreFns) await this.registerFirestoreTrigger(fn, firestoreHost);
    }
  }

  async subscribe(fn) {
    const { topic: topicName } = fn.trigger;
    const topic = this.pubsub.topic(topicName);
    // gRPC ALREADY_EXISTS (6): created by a publisher, or by a previous run against the same emulator.
    await topic.create().catch((error) => {
      if (error.code !== 6) throw error;
    });
    const name = subscriptionName(fn);
    await topic.createSubscription(name).catch((error) => {
      if (error.code !== 6) throw error;
    });
    const f = this.byName.get(fn.name);
    const subscription = topic.subscription(name, {
      // At most what the instances take at once is leased; the rest stays in Pub/Sub.
      flowControl: { maxMessages: f.capacity, allowExcessMessages: false },
      // The lease is extended while a message waits for its retry (up to the client's default hour).
    });
    subscription.on("message", (message) => this.onPubsubMessage(fn, message));
    subscription.on("error", (error) => this.log(`[events] ${fn.name}: subscription ${name} failed: ${error.message}`));
    this.subscriptions.push(subscription);
  }

  onPubsubMessage(fn, message) {
    const publishTime = new Date(message.publishTime.getTime()).toISOString();
    const body = JSON.stringify({
      message: {
        data: message.data.toString("base64"),
        attributes: message.attributes ?? {},
        messageId: message.id,
        message_id: message.id,
        publishTime,
        publish_time: publishTime,
        ...(message.orderingKey ? { orderingKey: message.orderingKey } : {}),
      },
      subscription: `projects/${this.projectId}/subscriptions/${subscriptionName(fn)}`,
    });
    const headers = {
      "content-type": "application/json",
      "ce-specversion": "1.0",
      // Eventarc's id for a Pub/Sub event is the message id: a redelivery has the same one.
      "ce-id": message.id,
      "ce-source": `//pubsub.googleapis.com/projects/${this.projectId}/topics/${fn.trigger.topic}`,
      "ce-type": fn.trigger.eventType,
      "ce-time": publishTime,
    };
    // Acked once delivered or given up (logged), never nacked: a nack is redelivered at once, without backoff.
    this.enqueue(fn.name, { id: message.id, headers, body: Buffer.from(body), settle: () => message.ack() });
  }

  listenHub(host, port) {
    this.hub = createServer((req, res) => this.onHubRequest(req, res));
    return new Promise((resolveListen, reject) => {
      this.hub.once("error", reject);
      this.hub.listen(port, host, () => {
        this.hub.off("error", reject);
        resolveListen();
      });
    });
  }

  /** `POST /functions/projects/{project}/triggers/{key}`, as the functions emulator's route. */
  onHubRequest(req, res) {
    const match = /^\/functions\/projects\/([^/]+)\/triggers\/([^/?]+)/.exec(req.url ?? "");
    const fn = match && this.functions.find((f) => f.trigger.kind === "firestore" && triggerKey(f) === decodeURIComponent(match[2]));
    if (req.method !== "POST" || !fn) {
      this.log(`[events] hub: nothing at ${req.method} ${req.url}`);
      req.resume();
      res.writeHead(404).end();
      return;
    }
    const chunks = [];
    let size = 0;
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size > MAX_EVENT_BYTES) req.destroy();
      else chunks.push(chunk);
    });
    req.on("end", () => {
      let body = Buffer.concat(chunks);
      const headers = {};
      for (const [name, value] of Object.entries(req.headers)) if (name.startsWith("ce-") || name === "content-type") headers[name] = value;
      // The emulator sends the protobuf base64-encoded (the functions emulator decodes it the same way);
      // Eventarc sends the bytes.
      if (String(headers["content-type"] ?? "").includes("application/protobuf")) body = Buffer.from(body.toString("latin1"), "base64");
      const accepted = this.enqueue(fn.name, { id: headers["ce-id"] ?? "?", headers, body, settle: () => {} });
      // Accepted means queued, as Eventarc accepts an event and then delivers it on its own schedule.
      res.writeHead(accepted ? 204 : 503).end();
    });
  }

  async registerFirestoreTrigger(fn, firestoreHost) {
    const t = fn.trigger;
    const bundle = { eventType: t.eventType, database: t.database, namespace: t.namespace, document: { value: t.document, matchType: t.matchType } };
    const url = `http://${firestoreHost}/emulator/v1/projects/${this.projectId}/eventarcTrigger?eventarcTriggerId=${encodeURIComponent(triggerKey(fn))}`;
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(bundle) });
    if (!res.ok) throw new Error(`registering ${fn.name}'s trigger with the Firestore emulator: HTTP ${res.status} ${await res.text()}`);
  }

  /** Takes an event for a function; false when its backlog is full (the event is dropped, and counted). */
  enqueue(name, delivery) {
    const f = this.byName.get(name);
    f.received++;
    if (f.fn.trigger.kind === "firestore" && f.backlog.length >= this.backlog) {
      f.dropped++;
      this.log(`[events] ${name}: backlog of ${this.backlog} events full; dropped event ${delivery.id}`);
      return false;
    }
    delivery.attempts = 0;
    f.backlog.push(delivery);
    this.pump(f);
    return true;
  }

  pump(f) {
    while (!this.stopped && f.inFlight < f.capacity && f.backlog.length) this.attempt(f, f.backlog.shift());
  }

  attempt(f, delivery) {
    const { fn } = f;
    f.inFlight++;
    delivery.attempts++;
    let upstream = null;
    const finish = once((error) => {
      f.inFlight--;
      this.pool.release(request, !error);
      if (!error) {
        f.delivered++;
        delivery.settle();
      } else {
        this.onFailure(f, delivery, error);
      }
      this.pump(f);
    });
    const request = new PoolRequest({
      method: "POST",
      path: `${fn.trigger.kind}:${delivery.id}`,
      dispatch: (instance) => {
        upstream = httpRequest({
          host: "127.0.0.1",
          port: instance.port,
          method: "POST",
          path: "/",
          headers: { ...delivery.headers, "content-length": delivery.body.length },
          agent: instance.agent,
        });
        // Eventarc waits for the service as long as the function's timeout.
        upstream.setTimeout(fn.timeoutSeconds * 1000, () => upstream.destroy(new Error(`no answer within the function's ${fn.timeoutSeconds} s timeout`)));
        upstream.on("response", (answer) => {
          let text = "";
          answer.setEncoding("utf8");
          answer.on("data", (chunk) => {
            if (text.length < MAX_ANSWER_LOG_BYTES) text += chunk;
          });
          answer.on("end", () => {
            const ok = answer.statusCode >= 200 && answer.statusCode < 300;
            finish(ok ? null : `HTTP ${answer.statusCode}${answer.headers["x-google-status"] ? ` (${answer.headers["x-google-status"]})` : ""} ${text.slice(0, 300)}`.trim());
          });
          answer.on("error", (error) => finish(error.message));
        });
        upstream.on("error", (error) => {
          if (["ECONNREFUSED", "ECONNRESET", "EPIPE"].includes(error.code)) instance.suspect();
          finish(error.code ?? error.message);
        });
        upstream.end(delivery.body);
      },
      fail: (error) => {
        upstream?.destroy();
        finish(error.message);
      },
    });
    this.pool.submit(fn.name, request);
  }

  onFailure(f, delivery, error) {
    const { fn } = f;
    // Cut by the shutdown (instances stopping): neither retried nor given up; an unacked message stays in Pub/Sub.
    if (this.stopped) return;
    if (fn.retry && delivery.attempts < this.maxAttempts) {
      f.retried++;
      f.waitingRetry++;
      const delay = Math.min(this.backoffMs.max, this.backoffMs.first * 2 ** (delivery.attempts - 1));
      this.log(`[events] ${fn.name}: event ${delivery.id} attempt ${delivery.attempts}/${this.maxAttempts} failed (${error}); again in ${delay} ms`);
      delivery.timer = setTimeout(() => {
        f.waitingRetry--;
        this.retryTimers.delete(delivery.timer);
        f.backlog.push(delivery);
        this.pump(f);
      }, delay);
      this.retryTimers.add(delivery.timer);
      return;
    }
    f.failed++;
    this.log(
      fn.retry
        ? `[events] ${fn.name}: giving up on event ${delivery.id} after ${delivery.attempts} attempts (${error})`
        : `[events] ${fn.name}: event ${delivery.id} failed (${error}); not retried (retry: false)`,
    );
    delivery.settle();
  }

  status() {
    const functions = {};
    const totals = { received: 0, delivered: 0, retried: 0, failed: 0, dropped: 0, inFlight: 0, backlog: 0, waitingRetry: 0 };
    const pool = this.pool.status();
    for (const [name, f] of this.byName) {
      const counters = { received: f.received, delivered: f.delivered, retried: f.retried, failed: f.failed, dropped: f.dropped, inFlight: f.inFlight, backlog: f.backlog.length, waitingRetry: f.waitingRetry };
      for (const key of Object.keys(totals)) totals[key] += counters[key];
      const t = f.fn.trigger;
      functions[name] = {
        trigger: t.kind === "pubsub" ? { kind: t.kind, topic: t.topic, subscription: subscriptionName(f.fn) } : { kind: t.kind, eventType: t.eventType, document: t.document },
        retry: f.fn.retry,
        concurrency: pool.functions[name].concurrency,
        ...counters,
        instances: pool.functions[name].instances,
      };
    }
    return { instancesPerFunction: this.instances, maxAttempts: this.maxAttempts, backoffMs: this.backoffMs, backlogLimit: this.backlog, totals, functions };
  }

  async stop() {
    this.stopped = true;
    for (const timer of this.retryTimers) clearTimeout(timer);
    await Promise.all(this.subscriptions.map((s) => s.close().catch(() => {})));
    this.subscriptions = [];
    this.hub?.closeAllConnections?.();
    if (this.hub) await new Promise((resolveClose) => this.hub.close(() => resolveClose()));
    await this.pubsub?.close().catch(() => {});
  }
}

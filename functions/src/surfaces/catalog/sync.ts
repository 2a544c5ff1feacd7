import type { DocumentSnapshot } from "firebase-admin/firestore";
import { z } from "zod";
import { Clock, HOUR, MINUTE, systemClock } from "../../kernel/clock";
import { mapLimit } from "../../kernel/concurrency";
import { db } from "../../kernel/firebase";
import { log } from "../../kernel/logger";
import { Publisher, pubsubPublisher } from "../../kernel/pubsub";
import { Binding, BindingDoc, capabilityBindings } from "../capabilities/model";

/**
 * Data sync (docs/catalog.md#data-sync): every minute the scheduler finds the bindings whose
 * `nextSyncAt` has come, claims them and fans them out over Pub/Sub; workers invoke each through
 * the capabilities engine and schedule the next sync.
 *
 * - Spreading: each provider app gets at most SYNC_RATE_PER_APP syncs a minute. Bindings due
 *   beyond that are moved to the following minutes (a random second within each), so 10,000
 *   bindings due at once reach their provider as an even ~10 a second, not as a burst; within a
 *   minute the app's messages are staggered (`delayMs`) and each runs SYNC_CONCURRENCY calls at a
 *   time. Successful syncs come back after 90–100 % of the refresh interval (jitter), so bindings
 *   installed together drift apart instead of staying in step.
 * - Leases, in `nextSyncAt` itself: a claim moves it to the end of a dispatch lease, and the
 *   message carries that value; a worker takes the binding only if `nextSyncAt` still equals it
 *   (moving it to the end of a run lease), and reschedules only while it holds the run lease. A
 *   duplicate or late message finds another value and does nothing; a lost message or a crashed
 *   worker leaves a lease that expires, and the binding is due again.
 * - Failures back off exponentially (1 min doubling, 50–100 % jitter, at most 6 h) with
 *   `consecutiveFailures`; the engine records each invocation (source `sync`) in the provider's history.
 */
export const SYNC_TOPIC = "catalog-syncs";
/** Syncs a minute per provider app (a steady 10 a second at most). */
export const SYNC_RATE_PER_APP = 600;
export const SYNC_BATCH_SIZE = 20;
export const SYNC_CONCURRENCY = 2;
/** A claimed binding is dispatched again if no worker took it within this long (the message was lost). */
export const DISPATCH_LEASE_MS = 10 * MINUTE;
/** A taken binding is due again if its worker did not reschedule it within this long (it crashed). */
export const RUN_LEASE_MS = 2 * MINUTE;
/** Due bindings read by one scheduler run (the rest wait for the next run). */
export const MAX_DUE_PER_RUN = 10_000;
const DUE_PAGE = 1_000;
export const SYNC_JITTER = 0.1;
export const BACKOFF_BASE_MS = MINUTE;
export const BACKOFF_MAX_MS = 6 * HOUR;

/** Delay before the next attempt after `failures` failed syncs in a row: 1, 2, 4... minutes, at most 6 hours, 50–100 % of it. */
export const backoffMs = (failures: number, random: number) => Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, failures - 1)) * (0.5 + 0.5 * random);
/** When a successful sync comes back: 90–100 % of the refresh interval. */
export const refreshDelayMs = (refreshIntervalSeconds: number, random: number) => refreshIntervalSeconds * 1000 * (1 - SYNC_JITTER * random);

export const SyncMessage = z.object({
  /** When the scheduler ran (ms); the next sync is counted from it or from the sync, whichever is later. */
  dispatchedAt: z.number().int(),
  /** How long the worker waits before starting, to spread an app's messages over the minute. */
  delayMs: z.number().int().min(0).max(MINUTE),
  bindings: z.array(z.object({ id: z.string(), lease: z.number().int() })).min(1).max(SYNC_BATCH_SIZE),
});
export type SyncMessage = z.infer<typeof SyncMessage>;

/** What the sync needs of the capabilities engine (issue 5's `invokeBinding`). */
export interface SyncEngine {
  /** Invokes the provider for `binding`, records the invocation and caches the state; never throws for provider failures. */
  invokeBinding(binding: Binding, options: { source: "sync"; clock?: Clock }): Promise<{ ok: boolean }>;
}

export interface DispatchReport {
  due: number;
  dispatched: number;
  deferred: number;
  messages: number;
}

export type SyncResult = "synced" | "failed" | "stale";

export class CatalogSync {
  private readonly engine: SyncEngine;
  private readonly publisher: Publisher;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly ratePerApp: number;

  constructor(deps: { engine: SyncEngine; publisher?: Publisher; clock?: Clock; random?: () => number; sleep?: (ms: number) => Promise<void>; ratePerApp?: number }) {
    this.engine = deps.engine;
    this.publisher = deps.publisher ?? pubsubPublisher;
    this.clock = deps.clock ?? systemClock;
    this.random = deps.random ?? Math.random;
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.ratePerApp = deps.ratePerApp ?? SYNC_RATE_PER_APP;
  }

  // ---------- the scheduler ----------

  /** One scheduler run at `now`: claims up to the rate of each app, defers the rest, publishes the claims. */
  async dispatchDue(now: Date): Promise<DispatchReport> {
    const due = await this.dueBindings(now);
    const byApp = new Map<string, DocumentSnapshot<BindingDoc>[]>();
    for (const snap of due) {
      const appId = snap.data()!.appId;
      if (!byApp.has(appId)) byApp.set(appId, []);
      byApp.get(appId)!.push(snap);
    }
    const lease = now.getTime() + DISPATCH_LEASE_MS;
    const claimed = new Map<string, string[]>();
    let deferred = 0;
    // Each write only if the binding is unchanged since it was read (an uninstall, a worker, an overlapping run win).
    const writer = db().bulkWriter();
    writer.onWriteError(() => false);
    const writes: Promise<unknown>[] = [];
    for (const [appId, snaps] of byApp) {
      snaps.forEach((snap, rank) => {
        const minute = Math.floor(rank / this.ratePerApp);
        const precondition = { lastUpdateTime: snap.updateTime! };
        if (minute === 0) {
          writes.push(
            writer.update(snap.ref, { nextSyncAt: new Date(lease), updatedAt: now }, precondition).then(
              () => (claimed.get(appId) ?? claimed.set(appId, []).get(appId)!).push(snap.id),
              () => undefined,
            ),
          );
        } else {
          const at = new Date(now.getTime() + minute * MINUTE + Math.floor(this.random() * MINUTE));
          writes.push(writer.update(snap.ref, { nextSyncAt: at, updatedAt: now }, precondition).then(() => deferred++, () => undefined));
        }
      });
    }
    await writer.close();
    await Promise.all(writes);

    let messages = 0;
    let dispatched = 0;
    for (const ids of claimed.values()) {
      const batches = chunk(ids, SYNC_BATCH_SIZE);
      const spacing = Math.floor(MINUTE / batches.length);
      for (const [k, batch] of batches.entries()) {
        const message: SyncMessage = { dispatchedAt: now.getTime(), delayMs: k * spacing, bindings: batch.map((id) => ({ id, lease })) };
        try {
          await this.publisher.publish(SYNC_TOPIC, message as unknown as Record<string, unknown>);
          messages++;
          dispatched += batch.length;
        } catch (error) {
          // The claims expire with their lease and are dispatched again then.
          log.publishFailed(SYNC_TOPIC, `${batch.length} bindings`, error);
        }
      }
    }
    const report = { due: due.length, dispatched, deferred, messages };
    log.syncDispatched(report);
    return report;
  }

  /** Active bindings whose next sync has come, oldest first (claims and leases past their end included). */
  private async dueBindings(now: Date): Promise<DocumentSnapshot<BindingDoc>[]> {
    const out: DocumentSnapshot<BindingDoc>[] = [];
    let query = capabilityBindings().where("status", "==", "active").where("nextSyncAt", "<=", now).orderBy("nextSyncAt").limit(DUE_PAGE);
    while (out.length < MAX_DUE_PER_RUN) {
      const page = await query.get();
      out.push(...page.docs);
      if (page.size < DUE_PAGE) break;
      query = query.startAfter(page.docs[page.size - 1]!);
    }
    return out.slice(0, MAX_DUE_PER_RUN);
  }

  // ---------- the worker ----------

  /** Handles one Pub/Sub message: each binding it names is synced at most once per claim. */
  async runMessage(message: unknown, eventId: string): Promise<SyncResult[] | "invalid"> {
    const parsed = SyncMessage.safeParse(message);
    if (!parsed.success) {
      log.jobMessageInvalid(SYNC_TOPIC, eventId);
      return "invalid";
    }
    const { dispatchedAt, delayMs, bindings } = parsed.data;
    if (delayMs > 0) await this.sleep(delayMs);
    const results = await mapLimit(bindings, SYNC_CONCURRENCY, (b) => this.syncOne(b.id, b.lease, dispatchedAt));
    log.jobDone(SYNC_TOPIC, eventId, results.join(","));
    return results;
  }

  async syncOne(bindingId: string, lease: number, dispatchedAt: number): Promise<SyncResult> {
    const ref = capabilityBindings().doc(bindingId);
    const taken = await db().runTransaction(async (tx) => {
      const data = (await tx.get(ref)).data();
      if (!data || data.status !== "active" || data.nextSyncAt?.getTime() !== lease) return null;
      const now = this.clock.now();
      let runLease = now.getTime() + RUN_LEASE_MS;
      if (runLease === lease) runLease++;
      tx.update(ref, { nextSyncAt: new Date(runLease), updatedAt: now });
      return { binding: { id: bindingId, ...data }, runLease };
    });
    if (!taken) return "stale";

    let ok = false;
    try {
      ok = (await this.engine.invokeBinding(taken.binding, { source: "sync", clock: this.clock })).ok;
    } catch (error) {
      // The engine reports provider failures in its outcome; a throw is our failure. Back off all the same.
      log.jobFailed(SYNC_TOPIC, bindingId, error);
    }
    await db().runTransaction(async (tx) => {
      const data = (await tx.get(ref)).data();
      // Uninstalled meanwhile, or the run lease expired and another worker took over: leave it to them.
      if (!data || data.status !== "active" || data.nextSyncAt?.getTime() !== taken.runLease) return;
      const now = this.clock.now();
      const base = Math.max(now.getTime(), dispatchedAt);
      if (ok) {
        const next = data.refreshIntervalSeconds > 0 ? new Date(base + refreshDelayMs(data.refreshIntervalSeconds, this.random())) : null;
        tx.update(ref, { nextSyncAt: next, lastSyncAt: now, consecutiveFailures: 0, updatedAt: now });
      } else {
        const failures = data.consecutiveFailures + 1;
        tx.update(ref, { nextSyncAt: new Date(base + backoffMs(failures, this.random())), consecutiveFailures: failures, updatedAt: now });
      }
    });
    return ok ? "synced" : "failed";
  }
}

const chunk = <T>(items: T[], size: number): T[][] => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, i * size + size));

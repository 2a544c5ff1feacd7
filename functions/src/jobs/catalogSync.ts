import type { DocumentSnapshot } from "firebase-admin/firestore";
import { z } from "zod";
import { type Clock, MINUTE, systemClock } from "../kernel/clock";
import { mapLimit } from "../kernel/concurrency";
import { db } from "../kernel/firebase";
import { lostRace } from "../kernel/firestore";
import { log } from "../kernel/logger";
import { defineTopic, type DeliveredMessage, type Publisher, pubsubPublisher, readMessage } from "../kernel/pubsub";
import { invokeBinding } from "../domain/capabilities/invoker";
import { type Binding, type BindingDoc, capabilityBindings } from "../domain/capabilities/binding";
import { nextSyncAt } from "../domain/capabilities/state";

/**
 * Data sync (docs/catalog.md#data-sync): every minute the scheduler finds the bindings whose
 * `nextSyncAt` has come, claims them and fans them out over Pub/Sub; workers invoke each through
 * the capability invoker and schedule the next sync.
 *
 * - Spreading: each provider app gets at most SYNC_RATE_PER_APP syncs a minute. Bindings due
 *   beyond that are moved to the following minutes (a random second within each), so 10,000
 *   bindings due at once reach their provider as an even ~10 a second, not as a burst; within a
 *   minute the app's messages are staggered (`delayMs`) and each runs SYNC_CONCURRENCY calls at a
 *   time.
 * - Leases, in `nextSyncAt` itself: a claim moves it to the end of a dispatch lease, and the
 *   message carries that value; a worker takes the binding only if `nextSyncAt` still equals it
 *   (moving it to the end of a run lease). A
 *   duplicate or late message finds another value and does nothing; a lost message or a crashed
 *   worker leaves a lease that expires, and the binding is due again.
 * - The next sync: the invoker records each call (source `sync`) in the provider's history and
 *   schedules the binding (one refresh interval after the fetch; failures back off from 1 minute,
 *   doubling, never beyond the interval: capabilities/state.ts `nextSyncAt`). When it did not call
 *   the provider (it skipped the binding, or failed on our side), the worker applies the same rule.
 */
/** Syncs a minute per provider app (a steady 10 a second at most). */
export const SYNC_RATE_PER_APP = 600;
const SYNC_BATCH_SIZE = 20;
const SYNC_CONCURRENCY = 2;
/** A claimed binding is dispatched again if no worker took it within this long (the message was lost). */
export const DISPATCH_LEASE_MS = 10 * MINUTE;
/** A taken binding is due again if its worker did not reschedule it within this long (it crashed). */
export const SYNC_RUN_LEASE_MS = 2 * MINUTE;
/** Due bindings read by one scheduler run (the rest wait for the next run). */
export const MAX_DUE_PER_RUN = 10_000;
const DUE_PAGE = 1_000;

export const SyncMessage = z.object({
  /** How long the worker waits before starting, to spread an app's messages over the minute. */
  delayMs: z.number().int().min(0).max(MINUTE),
  bindings: z
    .array(z.object({ id: z.string(), lease: z.number().int() }))
    .min(1)
    .max(SYNC_BATCH_SIZE),
});
export type SyncMessage = z.infer<typeof SyncMessage>;

/** Claimed bindings fanned out to the workers. */
export const catalogSyncs = defineTopic("catalog-syncs", SyncMessage);

/** What the sync needs of the capability invoker (domain/capabilities/invoker.ts `invokeBinding`). */
export interface SyncEngine {
  /**
   * Invokes the provider for `binding`, records the invocation and caches the state; never throws
   * for provider failures. `scheduled`: the invoker moved the binding's next sync itself (it does
   * whenever it called the provider or found the state fresh), so the worker leaves it alone.
   */
  invokeBinding(binding: Binding, options: { source: "sync"; clock?: Clock }): Promise<{ ok: boolean; scheduled: boolean }>;
}

/** The capability invoker as the sync calls it. */
export const invokerSync: SyncEngine = {
  invokeBinding: async (binding, options) => {
    const outcome = await invokeBinding(binding, options);
    // A skipped binding (removed, parameters or capability gone) was not called, nor rescheduled.
    return { ok: outcome.status === "ok", scheduled: outcome.status !== "skipped" };
  },
};

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

  constructor(deps: {
    engine?: SyncEngine;
    publisher?: Publisher;
    clock?: Clock;
    random?: () => number;
    sleep?: (ms: number) => Promise<void>;
    ratePerApp?: number;
  }) {
    this.engine = deps.engine ?? invokerSync;
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
    // Each write only if the binding is unchanged since it was read (an uninstall, a worker, an
    // overlapping run win): such a binding is left to them. Any other failure is logged; the binding
    // stays due and the next run tries again.
    const writer = db().bulkWriter();
    writer.onWriteError((e) => !lostRace(e) && e.failedAttempts < 5);
    const writes: Promise<unknown>[] = [];
    const lost = (bindingId: string) => (error: unknown) => {
      if (!lostRace(error)) log.jobFailed(catalogSyncs.name, bindingId, error);
    };
    for (const [appId, snaps] of byApp) {
      snaps.forEach((snap, rank) => {
        const minute = Math.floor(rank / this.ratePerApp);
        const precondition = { lastUpdateTime: snap.updateTime! };
        if (minute === 0) {
          writes.push(
            writer
              .update(snap.ref, { nextSyncAt: new Date(lease), updatedAt: now }, precondition)
              .then(() => (claimed.get(appId) ?? claimed.set(appId, []).get(appId)!).push(snap.id), lost(snap.id)),
          );
        } else {
          const at = new Date(now.getTime() + minute * MINUTE + Math.floor(this.random() * MINUTE));
          writes.push(writer.update(snap.ref, { nextSyncAt: at, updatedAt: now }, precondition).then(() => deferred++, lost(snap.id)));
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
        const message: SyncMessage = { delayMs: k * spacing, bindings: batch.map((id) => ({ id, lease })) };
        try {
          await this.publisher.publish(catalogSyncs, message);
          messages++;
          dispatched += batch.length;
        } catch (error) {
          // The claims expire with their lease and are dispatched again then.
          log.publishFailed(catalogSyncs.name, `${batch.length} bindings`, error);
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
  async runMessage(message: DeliveredMessage): Promise<SyncResult[] | "invalid"> {
    const parsed = readMessage(catalogSyncs, message, catalogSyncs.name);
    if (!parsed) return "invalid";
    const { delayMs, bindings } = parsed;
    if (delayMs > 0) await this.sleep(delayMs);
    const results = await mapLimit(bindings, SYNC_CONCURRENCY, (b) => this.syncOne(b.id, b.lease));
    log.jobDone(catalogSyncs.name, message.messageId, results.join(","));
    return results;
  }

  async syncOne(bindingId: string, lease: number): Promise<SyncResult> {
    const ref = capabilityBindings().doc(bindingId);
    const taken = await db().runTransaction(async (tx) => {
      const data = (await tx.get(ref)).data();
      if (!data || data.status !== "active" || data.nextSyncAt?.getTime() !== lease) return null;
      const now = this.clock.now();
      let runLease = now.getTime() + SYNC_RUN_LEASE_MS;
      if (runLease === lease) runLease++;
      tx.update(ref, { nextSyncAt: new Date(runLease), updatedAt: now });
      return { binding: { id: bindingId, ...data }, runLease };
    });
    if (!taken) return "stale";

    let outcome = { ok: false, scheduled: false };
    try {
      outcome = await this.engine.invokeBinding(taken.binding, { source: "sync", clock: this.clock });
    } catch (error) {
      // The invoker reports provider failures in its outcome; a throw is our failure. Back off all the same.
      log.jobFailed(catalogSyncs.name, bindingId, error);
    }
    const { ok } = outcome;
    if (outcome.scheduled) return ok ? "synced" : "failed";
    // The invoker did not call the provider (it skipped the binding, or failed on our side): its rule, applied here.
    await db().runTransaction(async (tx) => {
      const data = (await tx.get(ref)).data();
      // Uninstalled meanwhile, or the run lease expired and another worker took over: leave it to them.
      if (!data || data.status !== "active" || data.nextSyncAt?.getTime() !== taken.runLease) return;
      const now = this.clock.now();
      const failures = ok ? 0 : data.consecutiveFailures + 1;
      const next = nextSyncAt({
        now,
        refreshIntervalSeconds: data.refreshIntervalSeconds,
        consecutiveFailures: failures,
        fetchedAt: ok ? now : null,
      });
      tx.update(ref, { nextSyncAt: next, consecutiveFailures: failures, ...(ok ? { lastSyncAt: now } : {}), updatedAt: now });
    });
    return ok ? "synced" : "failed";
  }
}

const chunk = <T>(items: T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, i * size + size));

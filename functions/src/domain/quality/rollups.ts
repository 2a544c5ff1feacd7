import { type DocumentReference } from "firebase-admin/firestore";
import { DAY, HOUR, MINUTE } from "../../kernel/clock";
import { db } from "../../kernel/firebase";
import { decodeBuckets, encodeBuckets } from "./histogram";
import { rollupDocId, rollups, rollupShards, type RollupDoc, type RollupResolution, type RollupShardDoc } from "./records";
import { emptyStats, mergeStats, type Stats } from "./stats";

/**
 * Rollups: invocations aggregated per capability, so that no read ever scans raw invocations.
 *
 * 1. The invocation trigger adds each invocation to one of ROLLUP_SHARDS shard documents of its
 *    capability and 5-minute slot (chosen by a hash of the invocation id), by increments. At the
 *    enterprise plan's 10,000 calls a minute (167/s), all on one capability, a shard takes
 *    167 / 256 ≈ 0.65 writes a second, under Firestore's sustained 1 write/s per document.
 * 2. The evaluation job folds the shards of every closed slot into three rollups (the slot's
 *    5-minute rollup, its hour's and its UTC day's) and deletes them, in one transaction per
 *    capability and slot; a rollup therefore takes one write per fold (every 5 minutes).
 * 3. Reads merge rollups: an alert window is three 5-minute rollups, a 30-day baseline at most 53
 *    hourly and daily ones, whatever the number of invocations.
 */
export const SLOT_MS = 5 * MINUTE;
export const ROLLUP_SHARDS = 256;
/** A slot is folded once it has been closed this long: invocation triggers run seconds after the write. */
export const FOLD_GRACE_MS = MINUTE;
const BASELINE_DAYS = 30;
const RESOLUTION_MS: Record<RollupResolution, number> = { "5m": SLOT_MS, "1h": HOUR, "1d": DAY };
const RETENTION_MS: Record<RollupResolution, number> = { "5m": 3 * DAY, "1h": 32 * DAY, "1d": 400 * DAY };
const FOLD_PAGE = 500;
const GET_ALL_CHUNK = 300;

export const floorTo = (date: Date, ms: number) => new Date(Math.floor(date.getTime() / ms) * ms);
const ceilTo = (date: Date, ms: number) => new Date(Math.ceil(date.getTime() / ms) * ms);

/** FNV-1a: a cheap, stable spread of invocation ids over the shards. */
export function shardOf(invocationId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < invocationId.length; i++) {
    hash ^= invocationId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % ROLLUP_SHARDS;
}

/** The stats of a shard or a rollup (whose histogram is packed). */
const statsOf = (doc: RollupShardDoc | RollupDoc | undefined): Stats =>
  doc
    ? {
        count: doc.count,
        errors: doc.errors,
        unavailable: doc.unavailable,
        errorsByClass: doc.errorsByClass,
        latencySumMs: doc.latencySumMs,
        histogram: typeof doc.histogram === "string" ? decodeBuckets(doc.histogram) : doc.histogram,
      }
    : emptyStats();

export interface Scope {
  /** Only this provider account's capabilities (tests and operations); every account when absent. */
  accountId?: string;
}

/**
 * Folds the shards of every slot closed for FOLD_GRACE_MS as of `now` into the slot's 5-minute,
 * hourly and daily rollups, deleting them in the same transaction. Idempotent and safe to run
 * concurrently: a shard is added exactly once, because it is deleted where it is added, and an
 * invocation arriving late for a folded slot re-creates its shard, which the next fold adds.
 * Returns the number of (capability, slot) groups folded.
 */
export async function foldClosedSlots(now: Date, scope: Scope = {}): Promise<number> {
  const cutoff = new Date(now.getTime() - FOLD_GRACE_MS - SLOT_MS);
  let folded = 0;
  for (;;) {
    let query = rollupShards().where("slotStart", "<=", cutoff);
    if (scope.accountId) query = query.where("accountId", "==", scope.accountId);
    const page = await query.orderBy("slotStart").limit(FOLD_PAGE).get();
    if (page.empty) break;
    const groups = new Map<string, { sample: RollupShardDoc; refs: DocumentReference<RollupShardDoc>[] }>();
    for (const doc of page.docs) {
      const data = doc.data();
      const key = `${data.capabilityKey}|${data.slotStart.getTime()}`;
      if (!groups.has(key)) groups.set(key, { sample: data, refs: [] });
      groups.get(key)!.refs.push(doc.ref);
    }
    for (const { sample, refs } of groups.values()) {
      if (await foldSlot(sample, refs, now)) folded++;
    }
    if (page.size < FOLD_PAGE) break;
  }
  return folded;
}

async function foldSlot(sample: RollupShardDoc, refs: DocumentReference<RollupShardDoc>[], now: Date): Promise<boolean> {
  const slotStart = sample.slotStart;
  const targets = (["5m", "1h", "1d"] as const).map((resolution) => {
    const start = floorTo(slotStart, RESOLUTION_MS[resolution]);
    return { resolution, start, ref: rollups().doc(rollupDocId(sample.capabilityKey, resolution, start)) };
  });
  return db().runTransaction(async (tx) => {
    const shards = (await tx.getAll(...refs)).filter((s) => s.exists);
    if (shards.length === 0) return false;
    const existing = await tx.getAll(...targets.map((t) => t.ref));
    const added = mergeStats(...shards.map((s) => statsOf(s.data())));
    targets.forEach((target, i) => {
      const merged = mergeStats(statsOf(existing[i]!.data()), added);
      const doc: RollupDoc = {
        capabilityKey: sample.capabilityKey,
        capabilityRef: sample.capabilityRef,
        packageId: sample.packageId,
        capabilityId: sample.capabilityId,
        accountId: sample.accountId,
        resolution: target.resolution,
        start: target.start,
        ...merged,
        histogram: encodeBuckets(merged.histogram),
        updatedAt: now,
        expiresAt: new Date(target.start.getTime() + RETENTION_MS[target.resolution]),
      };
      tx.set(target.ref, doc);
    });
    for (const shard of shards) tx.delete(shard.ref);
    return true;
  });
}

// ---------- reading rollups ----------

interface RollupPart {
  resolution: RollupResolution;
  start: Date;
}

export interface Window {
  from: Date;
  to: Date;
  parts: RollupPart[];
}

/**
 * The 30 days ending at the start of `now`'s hour, as rollups: hourly ones up to the first UTC
 * midnight, daily ones for the whole days, hourly ones after the last midnight: 24 + 29 = 53
 * documents, or 30 daily ones when the hour is midnight.
 */
export function baselineWindow(now: Date): Window {
  const to = floorTo(now, HOUR);
  const from = new Date(to.getTime() - BASELINE_DAYS * DAY);
  const firstMidnight = ceilTo(from, DAY);
  const lastMidnight = floorTo(to, DAY);
  const parts: RollupPart[] = [];
  for (let t = from.getTime(); t < firstMidnight.getTime(); t += HOUR) parts.push({ resolution: "1h", start: new Date(t) });
  for (let t = firstMidnight.getTime(); t < lastMidnight.getTime(); t += DAY) parts.push({ resolution: "1d", start: new Date(t) });
  for (let t = lastMidnight.getTime(); t < to.getTime(); t += HOUR) parts.push({ resolution: "1h", start: new Date(t) });
  return { from, to, parts };
}

/** The `length` ms of 5-minute slots ending at `end` (a slot boundary). */
export function slotWindow(end: Date, length: number): Window {
  const parts: RollupPart[] = [];
  for (let t = end.getTime() - length; t < end.getTime(); t += SLOT_MS) parts.push({ resolution: "5m", start: new Date(t) });
  return { from: new Date(end.getTime() - length), to: end, parts };
}

/** The rollups of `window` for each capability, in the order of `window.parts`: one batched read of known document ids, no query. */
async function rollupsOfWindow(capabilityKeys: string[], window: Window): Promise<Map<string, (RollupDoc | undefined)[]>> {
  const refs = capabilityKeys.flatMap((key) => window.parts.map((p) => ({ key, ref: rollups().doc(rollupDocId(key, p.resolution, p.start)) })));
  const result = new Map<string, (RollupDoc | undefined)[]>(capabilityKeys.map((key) => [key, []]));
  const chunks: (typeof refs)[] = [];
  for (let i = 0; i < refs.length; i += GET_ALL_CHUNK) chunks.push(refs.slice(i, i + GET_ALL_CHUNK));
  const snapshots = await Promise.all(chunks.map((chunk) => (chunk.length ? db().getAll(...chunk.map((c) => c.ref)) : Promise.resolve([]))));
  snapshots.flat().forEach((snap, i) => result.get(refs[i]!.key)!.push(snap.data() as RollupDoc | undefined));
  return result;
}

const mergeRollups = (docs: (RollupDoc | undefined)[]) =>
  mergeStats(emptyStats(), ...docs.filter((d): d is RollupDoc => d !== undefined).map(statsOf));

/** Merges the rollups of `window` for each capability. */
export async function statsOfWindow(capabilityKeys: string[], window: Window): Promise<Map<string, Stats>> {
  const read = await rollupsOfWindow(capabilityKeys, window);
  return new Map([...read].map(([key, docs]) => [key, mergeRollups(docs)]));
}

/**
 * The same read, merged per UTC day as well (the partial first and last days from their hours):
 * the whole window and its daily series, every day of it, with or without invocations.
 */
export async function dailyStatsOfWindow(
  capabilityKeys: string[],
  window: Window,
): Promise<Map<string, { total: Stats; days: { day: Date; stats: Stats }[] }>> {
  const read = await rollupsOfWindow(capabilityKeys, window);
  const days: number[] = [];
  for (let t = floorTo(window.from, DAY).getTime(); t < window.to.getTime(); t += DAY) days.push(t);
  const dayOfPart = window.parts.map((p) => days.indexOf(floorTo(p.start, DAY).getTime()));
  return new Map(
    [...read].map(([key, docs]) => [
      key,
      {
        total: mergeRollups(docs),
        days: days.map((day, i) => ({ day: new Date(day), stats: mergeRollups(docs.filter((_, j) => dayOfPart[j] === i)) })),
      },
    ]),
  );
}

/** Capabilities with a 5-minute rollup in `window` (the ones with recent traffic). */
export async function capabilitiesActiveIn(window: Window, scope: Scope = {}): Promise<Map<string, RollupDoc>> {
  let query = rollups().where("resolution", "==", "5m").where("start", ">=", window.from).where("start", "<", window.to);
  if (scope.accountId) query = query.where("accountId", "==", scope.accountId);
  const snap = await query.get();
  const found = new Map<string, RollupDoc>();
  for (const doc of snap.docs) found.set(doc.data().capabilityKey, doc.data());
  return found;
}

import { type DocumentData, type DocumentReference, type DocumentSnapshot, FieldValue } from "firebase-admin/firestore";
import { db } from "./firebase";
import { chargeCaller, unmetered } from "./firestoreMeter";

/**
 * Calls made while `maxInFlight` sends are outstanding go out together in the next send. An idle
 * coalescer sends at once (no added latency); under load a send carries everything that queued
 * during the previous one. Each call is still sent after it was made, so it sees nothing older
 * than its caller. Used where one remote call's client CPU costs more than the work around it (a
 * Firestore RPC costs about 1.7 ms of CPU in the Node client: docs/performance.md).
 */
export class Coalescer<I, R> {
  private queue: { item: I; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private inFlight = 0;

  constructor(
    private readonly send: (items: I[]) => Promise<R[]>,
    private readonly maxInFlight = 2,
    private readonly maxBatch = 100,
  ) {}

  run(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump() {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      let sent: Promise<R[]>;
      try {
        sent = unmetered(() => this.send(batch.map((b) => b.item)));
      } catch (error) {
        sent = Promise.reject(error);
      }
      sent
        .then(
          (results) => batch.forEach((b, i) => b.resolve(results[i]!)),
          (error: unknown) => batch.forEach((b) => b.reject(error)),
        )
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
  }
}

export interface Increment {
  key: string;
  by: number;
}

/**
 * The value each increment would have read had they run one after another in the order given,
 * from each key's total after all of them (`totals`): a valid serial order of one atomic commit.
 */
export function serialValues(increments: Increment[], totals: Map<string, number>): number[] {
  const sums = new Map<string, number>();
  for (const { key, by } of increments) sums.set(key, (sums.get(key) ?? 0) + by);
  const running = new Map<string, number>();
  return increments.map(({ key, by }) => {
    const value = (running.get(key) ?? totals.get(key)! - sums.get(key)!) + by;
    running.set(key, value);
    return value;
  });
}

interface CommitResponse {
  writeResults?: { transformResults?: { integerValue?: string | number; doubleValue?: number }[] }[];
}

interface IncrementCall {
  ref: DocumentReference;
  field: string;
  by: number;
  also: DocumentData;
}

/**
 * One commit for every increment queued: one write per (document, field) adding their sum, each
 * caller answered the value it would have read in a serial order (`serialValues`). Firestore
 * answers a field transform's result in the commit response, which the client's public
 * `WriteBatch.commit` drops, so this calls the batch's internal commit (the client is pinned by
 * the lockfile; e2e tests of the throttle and the rate limiter cover it).
 */
async function commitIncrements(calls: IncrementCall[]): Promise<number[]> {
  const groups = new Map<string, { call: IncrementCall; sum: number }>();
  const increments = calls.map((call) => {
    const key = `${call.field} ${call.ref.path}`; // field names have no spaces
    const group = groups.get(key);
    if (group) {
      group.sum += call.by;
      group.call = { ...call, also: { ...group.call.also, ...call.also } };
    } else groups.set(key, { call, sum: call.by });
    return { key, by: call.by };
  });
  const batch = db().batch();
  for (const { call, sum } of groups.values()) batch.set(call.ref, { ...call.also, [call.field]: FieldValue.increment(sum) }, { merge: true });
  const commit = (batch as unknown as { _commit?: (options?: object) => Promise<CommitResponse> })._commit;
  if (typeof commit !== "function") throw new Error("Firestore client without WriteBatch._commit (library changed?)");
  const response = await commit.call(batch);
  const totals = new Map<string, number>();
  [...groups.keys()].forEach((key, i) => {
    const value = response.writeResults?.[i]?.transformResults?.[0];
    const total = Number(value?.integerValue ?? value?.doubleValue);
    if (!Number.isFinite(total)) throw new Error(`No transform result in the commit of ${key}`);
    totals.set(key, total);
  });
  return serialValues(increments, totals);
}

/** One `getAll` for every lookup queued, each document asked for once however many callers want it. */
async function readDocuments(calls: DocumentReference[][]): Promise<DocumentSnapshot[][]> {
  const unique: DocumentReference[] = [];
  const byPath = new Map<string, number[]>();
  const positions = calls.map((refs) =>
    refs.map((ref) => {
      const candidates = byPath.get(ref.path) ?? [];
      // The same path through another converter is another lookup (getAll applies each reference's).
      const found = candidates.find((i) => unique[i]!.isEqual(ref));
      if (found !== undefined) return found;
      unique.push(ref);
      byPath.set(ref.path, [...candidates, unique.length - 1]);
      return unique.length - 1;
    }),
  );
  const snaps = await db().getAll(...unique);
  return positions.map((indices) => indices.map((i) => snaps[i]!));
}

const increments = new Coalescer(commitIncrements);
const lookups = new Coalescer(readDocuments);

/**
 * Adds `by` to a numeric field (creating the document, merging `also`) and returns the field's new
 * value, in one commit shared with the other increments made meanwhile on this instance. No read,
 * no transaction: an increment never contends, which matters on a hot document.
 */
export function incrementAndRead(ref: DocumentReference, field: string, by: number, also: DocumentData = {}): Promise<number> {
  chargeCaller("writes", 1);
  return increments.run({ ref, field, by, also });
}

/** `getAll` shared with the other lookups made meanwhile on this instance; snapshots in the order asked. */
export function getAllCoalesced<T extends unknown[]>(
  ...refs: { [K in keyof T]: DocumentReference<T[K]> }
): Promise<{ [K in keyof T]: DocumentSnapshot<T[K]> }> {
  chargeCaller("reads", refs.length);
  return lookups.run(refs as unknown as DocumentReference[]) as Promise<{ [K in keyof T]: DocumentSnapshot<T[K]> }>;
}

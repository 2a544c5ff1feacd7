import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Firestore cost per request, as Firestore bills it (document reads and writes), for benchmarks and
 * load tests: on only with FIRESTORE_METER=1 (never in production). Counting happens where the
 * Firestore client turns calls into RPCs, so every path is seen (typed collections, transactions,
 * raw references): a document lookup is one read per document asked for (found or not), a query
 * one read per document returned (at least one), a count one read per 1,000 entries (at least
 * one), and a commit one write per document written.
 */
export interface FirestoreOps {
  reads: number;
  writes: number;
}

const storage = new AsyncLocalStorage<FirestoreOps>();

export const meterEnabled = () => process.env.FIRESTORE_METER === "1";

/** Runs `fn` with a fresh counter; everything it awaits is counted there. */
export const withFirestoreMeter = <T>(ops: FirestoreOps, fn: () => T): T => storage.run(ops, fn);

export const formatOps = (ops: FirestoreOps) => `reads=${ops.reads}; writes=${ops.writes}`;

const count = (kind: keyof FirestoreOps, n: number) => {
  const ops = storage.getStore();
  if (ops) ops[kind] += n;
};

/**
 * For calls coalesced across requests (kernel/coalesce.ts): each caller is charged what it asked
 * for, and the shared RPC runs outside every request's counter so no one is charged twice.
 */
export const chargeCaller = count;
export const unmetered = <T>(fn: () => T): T => storage.exit(fn);

type AnyFn = (this: unknown, ...args: unknown[]) => Promise<unknown>;
function wrap(proto: Record<string, unknown>, method: string, after: (self: unknown, result: unknown) => void) {
  const original = proto[method] as AnyFn | undefined;
  if (typeof original !== "function") throw new Error(`Firestore meter: ${method} not found (client library changed?)`);
  proto[method] = async function (this: unknown, ...args: unknown[]) {
    const result = await original.apply(this, args);
    after(this, result);
    return result;
  };
}

let installed = false;

/**
 * Patches the Firestore client's internal choke points (pinned version, see package-lock): every
 * document lookup goes through DocumentReader, every query and count through `_get`, every commit
 * (set, update, batch, transaction) through WriteBatch `_commit`. Throws if they moved, so a
 * library upgrade cannot silently turn the meter into zeros.
 */
export function installFirestoreMeter() {
  if (installed || !meterEnabled()) return;
  installed = true;
  /* eslint-disable @typescript-eslint/no-require-imports -- internal modules of the pinned client, only in meter mode */
  const reader = require("@google-cloud/firestore/build/src/document-reader").DocumentReader.prototype;
  const query = require("@google-cloud/firestore/build/src/reference/query").Query.prototype;
  const aggregate = require("@google-cloud/firestore/build/src/reference/aggregate-query").AggregateQuery.prototype;
  const batch = require("@google-cloud/firestore/build/src/write-batch").WriteBatch.prototype;
  /* eslint-enable @typescript-eslint/no-require-imports */
  wrap(reader, "_get", (self) => count("reads", (self as { allDocuments: unknown[] }).allDocuments.length));
  wrap(query, "_get", (_self, r) => count("reads", Math.max(1, (r as { result: { size: number } }).result.size)));
  wrap(aggregate, "_get", (_self, r) => {
    const data = (r as { result: { data(): Record<string, unknown> } }).result.data();
    const entries = typeof data.count === "number" ? data.count : 0;
    count("reads", Math.max(1, Math.ceil(entries / 1000)));
  });
  const commit = batch._commit as AnyFn;
  batch._commit = async function (this: { _ops: unknown[] }, ...args: unknown[]) {
    const writes = this._ops.length;
    const result = await commit.apply(this, args);
    count("writes", writes);
    return result;
  };
}

import {
  type CollectionReference,
  type DocumentData,
  type DocumentReference,
  type DocumentSnapshot,
  type FirestoreDataConverter,
  type OrderByDirection,
  type Query,
  type QueryDocumentSnapshot,
  Timestamp,
  type Transaction,
} from "firebase-admin/firestore";
import { z } from "zod";
import { getAllCoalesced } from "./coalesce";
import { db } from "./firebase";
import { log } from "./logger";

/**
 * Whether a write failed only because the document changed since it was read (a `lastUpdateTime`
 * precondition) or is gone: another writer won the race, which callers expect and leave to it.
 */
export const lostRace = (error: unknown) => {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 9 /* FAILED_PRECONDITION */ || code === 5; /* NOT_FOUND */
};

/**
 * Firestore gave up on a transaction that waited too long for its documents: ABORTED (contention,
 * or the emulator's "Transaction lock timeout"), or a transaction the server let expire or closed
 * meanwhile (INVALID_ARGUMENT "transaction has expired", which the client library retries first;
 * the emulator's wording is "Transaction is invalid or closed", which it does not). Nothing was
 * written; the client may retry.
 */
export const contended = (error: unknown) => {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 10 /* ABORTED */) return true;
  if (!(error instanceof Error)) return false;
  if (/transaction lock timeout/i.test(error.message)) return true;
  return code === 3 /* INVALID_ARGUMENT */ && /transaction (has expired|is invalid or closed)/i.test(error.message);
};

/** Firestore Timestamps become Dates (recursively), so domain schemas only know Date. */
function fromFirestoreValue(value: unknown): unknown {
  if (value instanceof Timestamp) return value.toDate();
  if (Array.isArray(value)) return value.map(fromFirestoreValue);
  if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromFirestoreValue(v)]));
  }
  return value;
}

class CorruptDocumentError extends Error {
  constructor(
    readonly path: string,
    readonly issues: z.core.$ZodIssue[],
  ) {
    super(`Document ${path} does not match its schema`);
    this.name = "CorruptDocumentError";
  }
}

/**
 * A converter that validates every document it reads against the collection's schema, so bad
 * data is caught at the edge of the database rather than deep inside a handler.
 */
function zodConverter<S extends z.ZodType<DocumentData>>(schema: S): FirestoreDataConverter<z.output<S>, DocumentData> {
  return {
    toFirestore: (data) => data as DocumentData,
    fromFirestore: (snapshot: QueryDocumentSnapshot) => {
      const parsed = schema.safeParse(fromFirestoreValue(snapshot.data()));
      if (!parsed.success) {
        log.corruptDocument(snapshot.ref.path, parsed.error.issues);
        throw new CorruptDocumentError(snapshot.ref.path, parsed.error.issues);
      }
      return parsed.data;
    },
  };
}

/**
 * Raw document data as a Firestore trigger receives it, validated like a converter's read; null
 * (logged) when it does not match, so a trigger can acknowledge a document it can never handle.
 */
export function parseDocumentData<S extends z.ZodType<DocumentData>>(schema: S, data: DocumentData | undefined, path: string): z.output<S> | null {
  if (!data) return null;
  const parsed = schema.safeParse(fromFirestoreValue(data));
  if (parsed.success) return parsed.data;
  log.corruptDocument(path, parsed.error.issues);
  return null;
}

/** A typed collection whose reads are validated by `schema`. */
export const typedCollection = <S extends z.ZodType<DocumentData>>(path: string, schema: S): CollectionReference<z.output<S>> =>
  db().collection(path).withConverter(zodConverter(schema));

/**
 * The same document without the converter, for writes of FieldValue sentinels (increments, server
 * timestamps) that a document schema cannot describe. Reads always go through the typed reference.
 */
export const untyped = <T>(ref: DocumentReference<T>) => ref.withConverter(null);

/** Firestore stores Dates as Timestamps; this schema accepts what the converter produced. */
export const zDate = z.date();

/**
 * One page of `query` in a stable order (`field`, then the document id, same direction) and the
 * total it matches, read in parallel: what every `?limit&offset` list answers with.
 */
export async function pageOf<T>(
  query: Query<T>,
  field: string,
  direction: OrderByDirection,
  limit: number,
  offset: number,
): Promise<{ items: (T & { id: string })[]; total: number }> {
  const [page, count] = await Promise.all([
    query.orderBy(field, direction).orderBy("__name__", direction).offset(offset).limit(limit).get(),
    query.count().get(),
  ]);
  return { items: page.docs.map((d) => ({ id: d.id, ...d.data() })), total: count.data().count };
}

/** One page of `query`, newest first (by `createdAt`, then id), and the total it matches. */
export const newestFirstPage = <T>(query: Query<T>, limit: number, offset: number) => pageOf(query, "createdAt", "desc", limit, offset);

/**
 * Waits (with a listener, not polling) until the document satisfies `done`, or `timeoutMs` passes.
 * Resolves with the document's data (undefined when it does not exist), or "timeout".
 */
export function waitForDocument<T>(
  ref: DocumentReference<T>,
  done: (data: T | undefined) => boolean,
  timeoutMs: number,
): Promise<T | undefined | "timeout"> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let unsubscribe: () => void = () => undefined;
    const finish = (value: T | undefined | "timeout", error?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unsubscribe();
      if (error) reject(error);
      else resolve(value);
    };
    const timer = setTimeout(() => finish("timeout"), Math.max(0, timeoutMs));
    unsubscribe = ref.onSnapshot(
      (snap) => {
        try {
          const data = snap.data();
          if (done(data)) finish(data);
        } catch (error) {
          finish(undefined, error); // a corrupt document, or `done` itself failed
        }
      },
      (error) => finish(undefined, error),
    );
    if (settled) unsubscribe();
  });
}

/**
 * Document lookups gathered and sent as one RPC (`getAll`) when flushed: one request's reads that
 * are known at the same moment (the authenticator's and its route's prefetch) go to Firestore
 * together, as the floor's one lookup does. Lookups after the flush are sent on their own. Whoever
 * creates a batch must flush it (until then its lookups wait).
 */
export class ReadBatch {
  private pending: { ref: DocumentReference<DocumentData>; resolve: (snap: Promise<DocumentSnapshot<DocumentData>>) => void }[] = [];
  private flushed = false;

  get<T>(ref: DocumentReference<T>): Promise<DocumentSnapshot<T>> {
    if (this.flushed) return ref.get();
    return new Promise<DocumentSnapshot<DocumentData>>((resolve) =>
      this.pending.push({ ref: ref as DocumentReference<DocumentData>, resolve }),
    ) as Promise<DocumentSnapshot<T>>;
  }

  flush(): void {
    this.flushed = true;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    // getAll answers in the order asked and applies each reference's converter; under load it is
    // shared with other requests' lookups (kernel/coalesce.ts).
    const all = getAllCoalesced(...batch.map((p) => p.ref));
    batch.forEach((p, i) => p.resolve(all.then((snaps) => snaps[i]!)));
  }
}

/** Where a document is read from: a transaction, a read batch, or (undefined) on its own. */
export type DocumentSource = Transaction | ReadBatch;

export const readDocument = <T>(ref: DocumentReference<T>, from?: DocumentSource): Promise<DocumentSnapshot<T>> =>
  from === undefined ? ref.get() : from instanceof ReadBatch ? from.get(ref) : from.get(ref);

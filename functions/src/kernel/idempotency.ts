import { z } from "zod";
import { type Clock, DAY, systemClock } from "./clock";
import { canonicalJson, newId, sha256Hex } from "./crypto";
import { ApiError } from "./errors";
import { db } from "./firebase";
import { typedCollection, waitForDocument, zDate } from "./firestore";
import { log } from "./logger";

/**
 * `Idempotency-Key` support (docs/capabilities.md#idempotency): the first request with a key runs;
 * retries with the same key and the same request get the first response replayed for 24 hours; a
 * retry with another request is refused (422 IDEMPOTENCY_KEY_REUSED). Keys are scoped (per app) and
 * stored hashed. While the first request runs, an in-flight marker (a lease) makes concurrent
 * requests with the key wait for its response instead of running again.
 */
const IDEMPOTENCY_WINDOW_MS = DAY;

export const IdempotencyRecordDoc = z.object({
  scope: z.string(),
  operation: z.string(),
  /** SHA-256 of the request the key was first used with. */
  fingerprint: z.string(),
  state: z.enum(["in_flight", "completed"]),
  leaseId: z.string().nullable(),
  leaseUntil: zDate.nullable(),
  response: z.object({ status: z.number().int(), bodyJson: z.string() }).nullable(),
  createdAt: zDate,
  completedAt: zDate.nullable(),
  /** TTL policy field: the record is deleted after the window (and ignored once past it). */
  expiresAt: zDate,
});
export type IdempotencyRecordDoc = z.infer<typeof IdempotencyRecordDoc>;

const idempotencyKeys = () => typedCollection("idempotencyKeys", IdempotencyRecordDoc);

/** A response to store and replay: the HTTP status and the JSON body (data, or an error's code and message). */
export interface StoredResponse {
  status: number;
  body: unknown;
}

/** Equal requests fingerprint the same whatever their key order. */
export const requestFingerprint = (request: unknown) => sha256Hex(canonicalJson(request));

const recordId = (scope: string, key: string) => sha256Hex(`${scope}\n${key}`);

export interface IdempotentRun {
  response: StoredResponse;
  /** True when this is the stored response of an earlier request. */
  replayed: boolean;
}

type Claim = { kind: "run"; leaseId: string } | { kind: "replay"; response: StoredResponse } | { kind: "wait"; leaseId: string; leaseUntil: Date };

export class IdempotencyKeys {
  constructor(private readonly clock: Clock = systemClock) {}

  /**
   * Runs `execute` once per (scope, key): `leaseMs` bounds how long it may hold the key before a
   * retry may take over (a crashed first attempt). A failure of `execute` itself (an exception, not a
   * stored error response) releases the key so the request can be retried.
   */
  async run(args: {
    scope: string;
    key: string;
    operation: string;
    request: unknown;
    leaseMs: number;
    execute: () => Promise<StoredResponse>;
  }): Promise<IdempotentRun> {
    const ref = idempotencyKeys().doc(recordId(args.scope, args.key));
    const fingerprint = requestFingerprint({ operation: args.operation, request: args.request });
    for (let round = 0; round < 3; round++) {
      const claim = await this.claim(ref, args, fingerprint);
      if (claim.kind === "replay") {
        log.idempotentReplay(args.operation, "replayed");
        return { response: claim.response, replayed: true };
      }
      if (claim.kind === "wait") {
        const waitMs = claim.leaseUntil.getTime() - this.clock.now().getTime() + 500;
        const settled = await waitForDocument(ref, (d) => !d || d.leaseId !== claim.leaseId || d.state === "completed", waitMs);
        if (settled !== "timeout" && settled?.state === "completed" && settled.response && settled.fingerprint === fingerprint) {
          log.idempotentReplay(args.operation, "waited");
          return { response: parseStored(settled.response), replayed: true };
        }
        continue; // released, taken over or lapsed: claim again
      }
      let response: StoredResponse;
      try {
        response = await args.execute();
      } catch (error) {
        await this.release(ref, claim.leaseId).catch(() => undefined);
        throw error;
      }
      await this.complete(ref, claim.leaseId, response);
      return { response, replayed: false };
    }
    throw new ApiError("IDEMPOTENCY_KEY_IN_USE", "A request with this Idempotency-Key is still being processed; retry later");
  }

  private claim(
    ref: FirebaseFirestore.DocumentReference<IdempotencyRecordDoc>,
    args: { scope: string; operation: string; leaseMs: number },
    fingerprint: string,
  ): Promise<Claim> {
    const now = this.clock.now();
    return db().runTransaction(async (tx): Promise<Claim> => {
      const record = (await tx.get(ref)).data();
      const live = record && record.expiresAt.getTime() > now.getTime();
      if (live) {
        if (record.fingerprint !== fingerprint) {
          throw new ApiError(
            "IDEMPOTENCY_KEY_REUSED",
            "This Idempotency-Key was already used with a different request (within the last 24 hours); use a new key for a new request",
          );
        }
        if (record.state === "completed" && record.response) return { kind: "replay", response: parseStored(record.response) };
        if (record.leaseId && record.leaseUntil && record.leaseUntil.getTime() > now.getTime())
          return { kind: "wait", leaseId: record.leaseId, leaseUntil: record.leaseUntil };
        log.idempotentReplay(args.operation, "taken_over");
      }
      const leaseId = newId("idl");
      tx.set(ref, {
        scope: args.scope,
        operation: args.operation,
        fingerprint,
        state: "in_flight",
        leaseId,
        leaseUntil: new Date(now.getTime() + args.leaseMs),
        response: null,
        createdAt: live ? record.createdAt : now,
        completedAt: null,
        expiresAt: live ? record.expiresAt : new Date(now.getTime() + IDEMPOTENCY_WINDOW_MS),
      });
      return { kind: "run", leaseId };
    });
  }

  private complete(ref: FirebaseFirestore.DocumentReference<IdempotencyRecordDoc>, leaseId: string, response: StoredResponse) {
    const now = this.clock.now();
    return db().runTransaction(async (tx) => {
      const record = (await tx.get(ref)).data();
      // Someone took over after our lease lapsed: their response is the one kept.
      if (!record || record.leaseId !== leaseId) return;
      tx.update(ref, {
        state: "completed",
        leaseId: null,
        leaseUntil: null,
        response: { status: response.status, bodyJson: JSON.stringify(response.body) },
        completedAt: now,
      });
    });
  }

  private release(ref: FirebaseFirestore.DocumentReference<IdempotencyRecordDoc>, leaseId: string) {
    return db().runTransaction(async (tx) => {
      const record = (await tx.get(ref)).data();
      if (record?.leaseId === leaseId && record.state === "in_flight") tx.delete(ref);
    });
  }
}

const parseStored = (r: { status: number; bodyJson: string }): StoredResponse => ({ status: r.status, body: JSON.parse(r.bodyJson) });

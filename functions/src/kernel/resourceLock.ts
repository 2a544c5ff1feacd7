import { z } from "zod";
import { type Clock, systemClock } from "./clock";
import { newId, sha256Hex } from "./crypto";
import { ApiError } from "./errors";
import { typedCollection, zDate } from "./firestore";
import { log } from "./logger";

/**
 * A short lease on one resource (a package, an app, a runtime app), taken before a write's
 * transaction: concurrent writes to one resource would otherwise contend on Firestore's locks
 * until the transaction times out (a 500 after many seconds). A request that cannot take the lease
 * at once answers 409 CONFLICT with Retry-After; the lease expires by itself if its holder dies.
 * docs/errors.md#concurrent-writes.
 */
const LEASE_MS = 30_000;
const RETRY_AFTER_SECONDS = 1;

const ResourceLockDoc = z.object({
  resource: z.string(),
  holder: z.string(),
  expiresAt: zDate,
});

const locks = () => typedCollection("resourceLocks", ResourceLockDoc);

/** gRPC codes of a create() on an existing document, and of a failed update precondition. */
const ALREADY_EXISTS = 6;
const FAILED_PRECONDITION = 9;
const grpcCode = (error: unknown) => (error as { code?: unknown } | null)?.code;

const busy = (resource: string) =>
  new ApiError("CONFLICT", `Another change to ${resource} is in progress; retry in a moment`, {
    headers: { "Retry-After": String(RETRY_AFTER_SECONDS) },
  });

/** Runs `fn` holding the lease on `resource`, or throws 409 CONFLICT (Retry-After) when another request holds it. */
export async function withResourceLock<T>(resource: string, fn: () => Promise<T>, clock: Clock = systemClock): Promise<T> {
  const ref = locks().doc(sha256Hex(resource));
  const holder = newId("lck");
  const lease = () => ({ resource, holder, expiresAt: new Date(clock.now().getTime() + LEASE_MS) });
  let written: FirebaseFirestore.Timestamp;
  try {
    written = (await ref.create(lease())).writeTime;
  } catch (error) {
    if (grpcCode(error) !== ALREADY_EXISTS) throw error;
    const snap = await ref.get();
    const current = snap.exists ? snap.data() : undefined;
    if (current && current.expiresAt.getTime() > clock.now().getTime()) throw busy(resource);
    // A lapsed lease (its holder died) or one released meanwhile: take it over, unless someone else just did.
    try {
      written = snap.exists ? (await ref.update(lease(), { lastUpdateTime: snap.updateTime! })).writeTime : (await ref.create(lease())).writeTime;
    } catch (takeover) {
      const code = grpcCode(takeover);
      if (code === ALREADY_EXISTS || code === FAILED_PRECONDITION || code === 5) throw busy(resource);
      throw takeover;
    }
  }
  try {
    return await fn();
  } finally {
    // Only our own lease: if it lapsed and was taken over, the precondition fails and it stays.
    await ref.delete({ lastUpdateTime: written }).catch((error: unknown) => log.resourceLockReleaseFailed(resource, error));
  }
}

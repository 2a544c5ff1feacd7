import type { DocumentSnapshot, Transaction } from "firebase-admin/firestore";
import { z } from "zod";
import { type DocumentSource, readDocument, typedCollection, zDate } from "../../kernel/firestore";

const BINDING_STATUSES = ["active", "removed"] as const;

/**
 * capabilityBindings/{bindingId}: one per installed capability per user (a "capability instance").
 * Created and removed by installs (catalog surface) in the install's transaction; read and updated
 * by the engine (state, sync bookkeeping).
 */
export const BindingDoc = z.object({
  installId: z.string(),
  /** Firebase uid of the end user; never sent to providers (see providerUserId). */
  userId: z.string(),
  providerUserId: z.string(),
  accountId: z.string(),
  appId: z.string(),
  packageId: z.string(),
  /** The package version whose descriptor was current at install (or last upgrade). */
  versionId: z.string(),
  capabilityId: z.string(),
  capabilityKey: z.string(),
  capabilityRef: z.string(),
  /** Invocation parameters chosen for this instance (validated against the input schema). */
  parameters: z.record(z.string(), z.unknown()),
  /** From the descriptor; 0 means on demand only (never synced on a schedule). */
  refreshIntervalSeconds: z.number().int().min(0),
  status: z.enum(BINDING_STATUSES),
  /** When the scheduler should refresh it next; null when not scheduled (on demand, removed). */
  nextSyncAt: zDate.nullable(),
  lastSyncAt: zDate.nullable(),
  /** Failed syncs in a row, for backoff; reset by a success. */
  consecutiveFailures: z.number().int().min(0),
  createdAt: zDate,
  updatedAt: zDate,
});
export type BindingDoc = z.infer<typeof BindingDoc>;
export type Binding = BindingDoc & { id: string };

export const capabilityBindings = () => typedCollection("capabilityBindings", BindingDoc);

export async function findBinding(id: string, from?: DocumentSource): Promise<Binding | null> {
  const snap = await readDocument(capabilityBindings().doc(id), from);
  const data = snap.data();
  return data ? { id: snap.id, ...data } : null;
}

/** The bindings of `ids` that exist, in one batched read. */
export async function findBindings(ids: string[], tx?: Transaction): Promise<Map<string, Binding>> {
  if (ids.length === 0) return new Map();
  const refs = ids.map((id) => capabilityBindings().doc(id));
  // getAll applies each reference's converter; only its declared type is untyped.
  const snaps = (tx ? await tx.getAll(...refs) : await capabilityBindings().firestore.getAll(...refs)) as DocumentSnapshot<BindingDoc>[];
  const found = new Map<string, Binding>();
  for (const snap of snaps) {
    const data = snap.data();
    if (data) found.set(snap.id, { id: snap.id, ...data });
  }
  return found;
}

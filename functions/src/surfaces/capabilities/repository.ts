import type { Transaction } from "firebase-admin/firestore";
import { typedCollection } from "../../kernel/firestore";
import { Binding, capabilityBindings, invocations } from "./model";
import { CapabilityEventDoc, CapabilityStateDoc } from "./schemas";

export const capabilityStates = () => typedCollection("capabilityStates", CapabilityStateDoc);
export const capabilityEvents = () => typedCollection("capabilityEvents", CapabilityEventDoc);

export async function findBinding(id: string, tx?: Transaction): Promise<Binding | null> {
  const ref = capabilityBindings().doc(id);
  const snap = tx ? await tx.get(ref) : await ref.get();
  const data = snap.data();
  return data ? { id: snap.id, ...data } : null;
}

export async function findState(bindingId: string, tx?: Transaction): Promise<CapabilityStateDoc | null> {
  const ref = capabilityStates().doc(bindingId);
  const snap = tx ? await tx.get(ref) : await ref.get();
  return snap.data() ?? null;
}

/** Invocations of a capability (optionally one binding), newest first, at or after `since`, and how many match. */
export async function listInvocations(args: { capabilityKey: string; bindingId?: string | undefined; since?: Date | undefined; limit: number; offset: number }) {
  let query = invocations().where("capabilityKey", "==", args.capabilityKey);
  if (args.bindingId) query = query.where("bindingId", "==", args.bindingId);
  if (args.since) query = query.where("at", ">=", args.since);
  const [page, count] = await Promise.all([
    query.orderBy("at", "desc").orderBy("__name__", "desc").offset(args.offset).limit(args.limit).get(),
    query.count().get(),
  ]);
  return { items: page.docs.map((d) => ({ id: d.id, ...d.data() })), total: count.data().count };
}

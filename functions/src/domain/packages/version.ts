import type { Transaction } from "firebase-admin/firestore";
import { z } from "zod";
import { canonicalJson, sha256Hex } from "../../kernel/crypto";
import { typedCollection, zDate } from "../../kernel/firestore";
import { Capabilities, type CapabilityDescriptor, RiskTier } from "./descriptor";
import { ListingMetadata } from "./package";
import { ReviewReason } from "./review";
import { assertTransition, VersionState } from "./versionStates";

const RUN_STATUSES = ["queued", "running", "passed", "failed"] as const;
export const RunStatus = z.enum(RUN_STATUSES).meta({ id: "ValidationRunStatus" });
export type RunStatus = z.infer<typeof RunStatus>;

/** Who made a change: the provider (uid), a reviewer (uid) or the platform (a job's name). */
export const Actor = z.object({ type: z.enum(["provider", "reviewer", "system"]), id: z.string() });
export type Actor = z.infer<typeof Actor>;

export const providerActor = (uid: string): Actor => ({ type: "provider", id: uid });
export const reviewerActor = (uid: string): Actor => ({ type: "reviewer", id: uid });
export const systemActor = (job: string): Actor => ({ type: "system", id: job });

/** packages/{id}/versions/{vid}. */
export const VersionDoc = z.object({
  packageId: z.string(),
  accountId: z.string(),
  version: z.string(),
  riskTier: RiskTier,
  /** The capability descriptors as JSON text: JSON Schemas nest deeper and use keys Firestore maps cannot hold. */
  capabilitiesJson: z.string(),
  changelog: z.string().nullable(),
  state: VersionState,
  stateChangedAt: zDate,
  transitionCount: z.number().int().min(0),
  /** The latest validation run of this version. */
  validation: z
    .object({
      runId: z.string(),
      status: RunStatus,
      leaseExpiresAt: zDate,
      fingerprint: z.string(),
      overall: z.number().nullable(),
      passed: z.boolean().nullable(),
      finishedAt: zDate.nullable(),
    })
    .nullable(),
  /** The listing metadata frozen at submission, reviewed with the version and shown when it is published. */
  listing: ListingMetadata.nullable(),
  submission: z.object({ id: z.string(), at: zDate, by: z.string() }).nullable(),
  review: z
    .object({
      reviewId: z.string().nullable(),
      status: z.enum(["pending", "queued", "approved", "rejected"]),
      queuedAt: zDate.nullable(),
      decidedAt: zDate.nullable(),
      decidedBy: z.enum(["system", "reviewer"]).nullable(),
      reasons: z.array(ReviewReason),
      notes: z.string().nullable(),
    })
    .nullable(),
  publishedAt: zDate.nullable(),
  deprecation: z.object({ reason: z.string(), successorVersionId: z.string().nullable(), at: zDate }).nullable(),
  createdAt: zDate,
  updatedAt: zDate,
});
export type VersionDoc = z.infer<typeof VersionDoc>;
export type Version = VersionDoc & { id: string };

/** packages/{id}/transitions/{auto}: the audit trail of every version's state changes. */
export const TransitionDoc = z.object({
  versionId: z.string(),
  version: z.string(),
  seq: z.number().int(),
  from: VersionState.nullable(),
  to: VersionState,
  actor: Actor,
  reason: z.string(),
  at: zDate,
});
export type TransitionDoc = z.infer<typeof TransitionDoc>;

export const versions = (packageId: string) => typedCollection(`packages/${packageId}/versions`, VersionDoc);
const transitions = (packageId: string) => typedCollection(`packages/${packageId}/transitions`, TransitionDoc);

export async function findVersion(packageId: string, versionId: string, tx?: Transaction): Promise<Version | null> {
  const ref = versions(packageId).doc(versionId);
  const snap = tx ? await tx.get(ref) : await ref.get();
  const data = snap.data();
  return data ? { id: snap.id, ...data } : null;
}

export async function listVersions(packageId: string, tx?: Transaction): Promise<Version[]> {
  const query = versions(packageId);
  const snap = tx ? await tx.get(query) : await query.get();
  return snap.docs.map((d) => ({ id: d.id, ...d.data() }));
}

export async function listTransitions(packageId: string): Promise<TransitionDoc[]> {
  return (await transitions(packageId).get()).docs.map((d) => d.data());
}

/** Stored descriptors were validated on the way in; parse again so a corrupted document cannot pass silently. */
export const parseCapabilities = (json: string): CapabilityDescriptor[] => Capabilities.parse(JSON.parse(json));

/** A new version in `draft` (its creation is recorded with `recordCreation`). */
export function newVersionDoc(
  args: { packageId: string; accountId: string; version: string; riskTier: RiskTier; capabilities: unknown[]; changelog: string | null },
  now: Date,
): VersionDoc {
  return {
    packageId: args.packageId,
    accountId: args.accountId,
    version: args.version,
    riskTier: args.riskTier,
    capabilitiesJson: JSON.stringify(args.capabilities),
    changelog: args.changelog,
    state: "draft",
    stateChangedAt: now,
    transitionCount: 1,
    validation: null,
    listing: null,
    submission: null,
    review: null,
    publishedAt: null,
    deprecation: null,
    createdAt: now,
    updatedAt: now,
  };
}

/** Identifies what a validation run judged: the version's content and the package's listing metadata. */
export const fingerprintOf = (v: Pick<Version, "version" | "riskTier" | "capabilitiesJson" | "changelog">, listing: ListingMetadata) =>
  sha256Hex(
    canonicalJson({ version: v.version, riskTier: v.riskTier, capabilities: JSON.parse(v.capabilitiesJson), changelog: v.changelog, listing }),
  );

/**
 * The changes a transaction makes to one version: state transitions (checked against the state
 * machine as they are added, so an illegal one throws before anything is written) and field
 * updates, written once with an audit record per transition.
 */
export class VersionChange {
  readonly version: Version;
  private readonly fields: Partial<VersionDoc> = {};
  private readonly records: TransitionDoc[] = [];

  constructor(
    private readonly packageId: string,
    version: Version,
    private readonly now: Date,
  ) {
    this.version = { ...version };
  }

  get state(): VersionState {
    return this.version.state;
  }

  /** Moves the version to `state`; `action` names what was attempted, for the 409 message. */
  to(state: VersionState, actor: Actor, reason: string, action: string): this {
    assertTransition(this.version.state, state, action);
    const seq = this.version.transitionCount + 1;
    this.records.push({
      versionId: this.version.id,
      version: this.version.version,
      seq,
      from: this.version.state,
      to: state,
      actor,
      reason,
      at: this.now,
    });
    this.set({ state, stateChangedAt: this.now, transitionCount: seq });
    return this;
  }

  set(fields: Partial<VersionDoc>): this {
    Object.assign(this.version, fields);
    Object.assign(this.fields, fields);
    return this;
  }

  write(tx: Transaction): void {
    tx.update(versions(this.packageId).doc(this.version.id), { ...this.fields, updatedAt: this.now });
    for (const record of this.records) tx.create(transitions(this.packageId).doc(), record);
  }
}

/** The first history entry of a new version. */
export function recordCreation(tx: Transaction, packageId: string, versionId: string, version: string, actor: Actor, now: Date): void {
  tx.create(transitions(packageId).doc(), { versionId, version, seq: 1, from: null, to: "draft", actor, reason: "Version created", at: now });
}

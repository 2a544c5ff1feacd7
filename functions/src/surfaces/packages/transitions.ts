import type { Transaction } from "firebase-admin/firestore";
import { transitions, versions } from "./repository";
import { Actor, TransitionDoc, Version, VersionDoc } from "./schemas";
import { assertTransition, VersionState } from "./stateMachine";

export const providerActor = (uid: string): Actor => ({ type: "provider", id: uid });
export const reviewerActor = (uid: string): Actor => ({ type: "reviewer", id: uid });
export const systemActor = (job: string): Actor => ({ type: "system", id: job });

/**
 * The changes a transaction makes to one version: state transitions (checked against the state
 * machine as they are added, so an illegal one throws before anything is written) and field
 * updates, written once with an audit record per transition.
 */
export class VersionChange {
  readonly version: Version;
  private readonly fields: Partial<VersionDoc> = {};
  private readonly records: TransitionDoc[] = [];

  constructor(private readonly packageId: string, version: Version, private readonly now: Date) {
    this.version = { ...version };
  }

  get state(): VersionState {
    return this.version.state;
  }

  /** Moves the version to `state`; `action` names what was attempted, for the 409 message. */
  to(state: VersionState, actor: Actor, reason: string, action: string): this {
    assertTransition(this.version.state, state, action);
    const seq = this.version.transitionCount + 1;
    this.records.push({ versionId: this.version.id, version: this.version.version, seq, from: this.version.state, to: state, actor, reason, at: this.now });
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

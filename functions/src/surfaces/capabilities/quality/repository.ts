import { typedCollection } from "../../../kernel/firestore";
import { AlertDoc, CertificationChangeDoc, CertificationDoc, MonitorDoc, RollupDoc, RollupResolution, RollupShardDoc } from "./schemas";

export const rollupShards = () => typedCollection("qualityRollupShards", RollupShardDoc);
export const rollups = () => typedCollection("qualityRollups", RollupDoc);
export const monitors = () => typedCollection("qualityMonitors", MonitorDoc);
export const alerts = () => typedCollection("qualityAlerts", AlertDoc);
export const certifications = () => typedCollection("qualityCertifications", CertificationDoc);
export const certificationChanges = (packageId: string) => typedCollection(`qualityCertifications/${packageId}/changes`, CertificationChangeDoc);

/**
 * Document ids of a capability's quality documents: the capability key `<packageId>/<capabilityId>`
 * with `~` for the slash (capability ids never contain `~`), so ids are predictable and a baseline
 * read fetches known documents instead of querying.
 */
export const capabilityDocId = (capabilityKey: string) => capabilityKey.replace("/", "~");
export const shardDocId = (capabilityKey: string, slotStart: Date, shard: number) => `${capabilityDocId(capabilityKey)}~${slotStart.getTime()}~${shard}`;
export const rollupDocId = (capabilityKey: string, resolution: RollupResolution, start: Date) =>
  `${capabilityDocId(capabilityKey)}~${resolution}~${start.getTime()}`;

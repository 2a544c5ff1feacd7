import type { Transaction, WriteBatch } from "firebase-admin/firestore";
import { z } from "zod";
import { newId } from "../../kernel/crypto";
import { typedCollection, zDate } from "../../kernel/firestore";

/**
 * Provider events: the transactional outbox behind webhooks. A surface records an event in the
 * same transaction as the change it describes (so an event exists exactly when the change does);
 * the webhook dispatcher reads `providerEvents` and delivers each event to the subscribed
 * endpoints. Each type's payload schema below types every place that records one, and is the
 * `webhooks` section of the OpenAPI document (docs/webhooks.md describes them too).
 */
const id = (what: string) => z.string().meta({ description: `${what} id` });
const iso = z.iso.datetime();
const versionRef = { packageId: id("Package"), versionId: id("Version"), version: z.string().meta({ example: "1.2.0" }) };
const riskTier = z.string().meta({ description: "The version's risk tier (RiskTier)." });
const reasons = z.array(z.object({ message: z.string(), path: z.string().nullable(), ruleId: z.string().nullable() }));
const alertRef = {
  alertId: id("Alert"),
  capability: z.string().meta({ description: "`<package slug>.<capability id>`" }),
  packageId: id("Package"),
  metric: z.enum(["latency_p95", "error_rate", "availability"]),
  severity: z.enum(["info", "warning", "critical"]),
};

export const PROVIDER_EVENT_DATA = {
  "webhook.test": z.object({ runtimeAppId: id("Runtime app"), message: z.string() }),
  "package.validation.completed": z.object({
    ...versionRef,
    runId: id("Validation run"),
    passed: z.boolean(),
    score: z.number().nullable(),
    dimensions: z.record(z.string(), z.number()).nullable(),
    errorCount: z.number().int(),
  }),
  "package.version.submitted": z.object({ ...versionRef, riskTier }),
  "package.review.queued": z.object({ ...versionRef, riskTier, expectedReviewBy: iso }),
  "package.review.approved": z.object({ ...versionRef, riskTier, reasons, notes: z.string().nullable() }),
  "package.review.rejected": z.object({ ...versionRef, riskTier, reasons, notes: z.string().nullable() }),
  "package.version.published": z.object({ ...versionRef, riskTier, rollback: z.boolean(), previousVersion: z.string().nullable() }),
  "package.version.deprecated": z.object({ ...versionRef, reason: z.string(), successorVersionId: z.string().nullable() }),
  "package.deprecated": z.object({ packageId: id("Package"), reason: z.string(), successorPackageId: z.string().nullable() }),
  "install.created": z.object({
    packageId: id("Package"),
    installId: id("Install"),
    versionId: id("Version"),
    version: z.string(),
    capabilities: z.array(z.string()),
    user: z.object({ id: z.string().meta({ description: "The user's pseudonymous id for your account (never the same for two providers)." }) }),
  }),
  "install.deleted": z.object({
    packageId: id("Package"),
    installId: id("Install"),
    user: z.object({ id: z.string() }),
    dataRetentionPolicyUrl: z.string().nullable(),
  }),
  "alert.opened": z.object({
    ...alertRef,
    condition: z.string(),
    threshold: z.number(),
    value: z.number(),
    baseline: z.number().nullable(),
    windowStart: iso,
    windowEnd: iso,
    escalatedFrom: z.string().nullable(),
  }),
  "alert.resolved": z.object({
    ...alertRef,
    resolution: z.enum(["recovered", "escalated"]),
    value: z.number(),
    resolvedAt: iso,
    escalatedTo: z.string().nullable(),
  }),
  "certification.changed": z.object({
    packageId: id("Package"),
    slug: z.string(),
    from: z.string().nullable(),
    to: z.string(),
    score: z.number(),
    reason: z.string(),
    causes: z.array(z.object({ code: z.string(), capability: z.string().nullable(), alertId: z.string().nullable(), since: iso })),
    graceEndsAt: iso.nullable(),
    restoresAt: iso.nullable(),
  }),
  "security.lockout": z.object({
    scope: z.enum(["login", "client_credentials"]).meta({ description: "What was guessed: the account's password, or an app's client secret." }),
    clientId: z.string().nullable().meta({ description: "The app's client_id (client_credentials), or null." }),
    sourceNetwork: z.string().meta({ description: "The network the guesses came from (IPv4 /24 or IPv6 /48), e.g. `203.0.113.0/24`." }),
    failures: z.number().int(),
    lockedUntil: iso,
  }),
} as const;

/** Every event type a webhook can subscribe to. */
export const PROVIDER_EVENT_TYPES = Object.keys(PROVIDER_EVENT_DATA) as (keyof typeof PROVIDER_EVENT_DATA)[];
export type ProviderEventType = keyof typeof PROVIDER_EVENT_DATA;
/** The payload of one event type, as recorded. */
export type ProviderEventData<T extends ProviderEventType> = z.input<(typeof PROVIDER_EVENT_DATA)[T]>;

/** providerEvents/{evt_id}. */
export const ProviderEventDoc = z.object({
  /** Account the event belongs to; only this account's webhook endpoints receive it. */
  accountId: z.string(),
  /** Console app the event concerns (packages and installs belong to one), or null. */
  appId: z.string().nullable(),
  /** Dotted type, e.g. `package.version.published`. */
  type: z.enum(PROVIDER_EVENT_TYPES as [ProviderEventType, ...ProviderEventType[]]),
  /** The event's payload, as delivered in the webhook body's `data`. No secrets, no personal data. */
  data: z.record(z.string(), z.unknown()),
  occurredAt: zDate,
});
export type ProviderEventDoc = z.infer<typeof ProviderEventDoc>;
/** An event of one type, with its typed payload, as a change records it. */
export type ProviderEvent<T extends ProviderEventType = ProviderEventType> = {
  [K in T]: Omit<ProviderEventDoc, "type" | "data" | "occurredAt"> & { type: K; data: ProviderEventData<K> };
}[T];

const providerEvents = () => typedCollection("providerEvents", ProviderEventDoc);

export function recordProviderEvent<T extends ProviderEventType>(writer: Transaction | WriteBatch, event: ProviderEvent<T>, now: Date): string {
  const id = newId("evt");
  (writer as WriteBatch).create(providerEvents().doc(id), { ...event, occurredAt: now });
  return id;
}

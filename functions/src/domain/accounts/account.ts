import { z } from "zod";
import { type DocumentSource, readDocument, typedCollection, zDate } from "../../kernel/firestore";
import { PlanTier } from "../../kernel/plans";

export const ACCOUNT_STATUSES = ["pending_verification", "active", "suspended"] as const;

export const NotificationPreferences = z
  .strictObject({
    review_updates: z.boolean().meta({ description: "Validation and review results for your packages." }),
    quality_alerts: z.boolean().meta({ description: "Quality alerts and certification changes." }),
    webhook_failures: z.boolean().meta({ description: "A webhook endpoint was disabled after failures." }),
    product_news: z.boolean().meta({ description: "Platform news and feature announcements." }),
  })
  .meta({ id: "NotificationPreferences" });
export type NotificationPreferences = z.infer<typeof NotificationPreferences>;

export const DEFAULT_NOTIFICATIONS: NotificationPreferences = {
  review_updates: true,
  quality_alerts: true,
  webhook_failures: true,
  product_news: false,
};

/** accounts/{uid}: one per developer (provider) account, keyed by its Firebase Auth uid. */
export const AccountDoc = z.object({
  companyName: z.string(),
  email: z.string(),
  contactEmail: z.string(),
  status: z.enum(ACCOUNT_STATUSES),
  planTier: PlanTier,
  /** Requests per minute replacing the plan's limit; set by Aiffinity staff only. */
  customRateLimitPerMinute: z.number().int().positive().nullable(),
  notificationPreferences: NotificationPreferences,
  emailVerifiedAt: zDate.nullable(),
  createdAt: zDate,
  updatedAt: zDate,
});
export type AccountDoc = z.infer<typeof AccountDoc>;
export type Account = AccountDoc & { id: string };

export const accounts = () => typedCollection("accounts", AccountDoc);

export async function findAccount(id: string, from?: DocumentSource): Promise<Account | null> {
  const data = (await readDocument(accounts().doc(id), from)).data();
  return data ? { id, ...data } : null;
}

export async function findAccountByEmail(email: string): Promise<Account | null> {
  const snap = await accounts().where("email", "==", email).limit(1).get();
  const doc = snap.docs[0];
  return doc ? { id: doc.id, ...doc.data() } : null;
}

import type { Transaction } from "firebase-admin/firestore";
import { htmlFromParagraphs, queueMail } from "../../kernel/mail";
import type { Account, NotificationPreferences } from "../accounts/account";
import { type ProviderEvent, type ProviderEventData, type ProviderEventType, recordProviderEvent } from "./providerEvents";

/** Something to tell a provider: always an event (webhooks), sometimes a mail too. */
export type ProviderNotice<T extends ProviderEventType = ProviderEventType> = {
  [K in T]: { type: K; data: ProviderEventData<K>; mail?: { subject: string; paragraphs: string[] } };
}[T];

export interface MailPolicy {
  /** The notification preference that lets the provider turn this mail off; null for essential mail. */
  preference: keyof NotificationPreferences | null;
  /** The outbox category (filtering and audits). */
  category: string;
}

/** Records the event (for webhooks) and queues the mail the provider wants, in the transaction that made the change. */
export function notifyAccount(tx: Transaction, account: Account, appId: string | null, notice: ProviderNotice, policy: MailPolicy, now: Date): void {
  const { mail: _mail, ...event } = notice;
  // Each member of the notice union is the matching member of the event union.
  recordProviderEvent(tx, { accountId: account.id, appId, ...event } as ProviderEvent, now);
  if (!notice.mail) return;
  if (policy.preference !== null && !account.notificationPreferences[policy.preference]) return;
  const { subject, paragraphs } = notice.mail;
  queueMail(
    tx,
    { to: account.contactEmail, subject, text: paragraphs.join("\n\n"), html: htmlFromParagraphs(paragraphs), category: policy.category },
    now,
  );
}

import type { Transaction } from "firebase-admin/firestore";
import { ProviderEventType, recordProviderEvent } from "../../kernel/events";
import { htmlFromParagraphs, queueMail } from "../../kernel/mail";
import type { Account } from "../console/schemas";

/** Provider event types of the packages surface (payloads in docs/packages.md#events-and-mail). */
export type PackageEventType = Extract<ProviderEventType, `package.${string}`>;

export interface Notice {
  type: PackageEventType;
  data: Record<string, unknown>;
  /** A mail about a result that matters to the provider; sent when they want review updates. */
  mail?: { subject: string; paragraphs: string[] };
}

/** Records the event (for webhooks) and queues the mail, in the transaction that made the change. */
export function notifyProvider(tx: Transaction, account: Account, appId: string, notice: Notice, now: Date): void {
  recordProviderEvent(tx, { accountId: account.id, appId, type: notice.type, data: notice.data }, now);
  if (notice.mail && account.notificationPreferences.review_updates) {
    const { subject, paragraphs } = notice.mail;
    queueMail(tx, { to: account.contactEmail, subject, text: paragraphs.join("\n\n"), html: htmlFromParagraphs(paragraphs), category: "package_review" }, now);
  }
}

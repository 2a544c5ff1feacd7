import type { Transaction } from "firebase-admin/firestore";
import type { Account } from "../accounts/account";
import { notifyAccount, type ProviderNotice } from "../events/notifications";
import type { ProviderEventType } from "../events/providerEvents";

/** Provider event types of packages (payloads in docs/packages.md#events-and-mail). */
type PackageEventType = Extract<ProviderEventType, `package.${string}`>;

/** A package event, and a mail about a result that matters to the provider (sent when they want review updates). */
export type Notice = ProviderNotice<PackageEventType>;

/** Records the event (for webhooks) and queues the mail, in the transaction that made the change. */
export function notifyProvider(tx: Transaction, account: Account, appId: string, notice: Notice, now: Date): void {
  notifyAccount(tx, account, appId, notice, { preference: "review_updates", category: "package_review" }, now);
}

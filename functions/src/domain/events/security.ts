import { isIP } from "node:net";
import { sha256Hex } from "../../kernel/crypto";
import { db } from "../../kernel/firebase";
import { log } from "../../kernel/logger";
import type { Account } from "../accounts/account";
import { notifyAccount } from "./notifications";

/** The network of an address, for the owner's notice: an IPv4 /24 or an IPv6 /48 (no full address in events). */
export function sourceNetwork(ip: string): string {
  if (isIP(ip) === 4) return `${ip.split(".").slice(0, 3).join(".")}.0/24`;
  if (isIP(ip) === 6) {
    const [head = ""] = ip.split("::");
    const groups = head.split(":").filter(Boolean);
    return `${[...groups, "0", "0", "0"].slice(0, 3).join(":")}::/48`;
  }
  return "unknown";
}

export interface Lockout {
  scope: "login" | "client_credentials";
  appId: string | null;
  clientId: string | null;
  source: string;
  failures: number;
  lockedUntil: Date;
}

/**
 * Tells the owner that guesses from one network were locked out: a `security.lockout` event and an
 * (essential) mail. A failure to write the notice is logged, never answered: the lockout holds anyway.
 */
export async function notifyLockout(account: Account | null, subject: string, lockout: Lockout, now: Date): Promise<void> {
  const network = sourceNetwork(lockout.source);
  log.lockoutStarted(lockout.scope, sha256Hex(subject.toLowerCase()), network);
  if (!account) return;
  await writeNotice(account, lockout, network, now).catch((error: unknown) => log.lockoutNoticeFailed(lockout.scope, account.id, error));
}

async function writeNotice(account: Account, lockout: Lockout, network: string, now: Date): Promise<void> {
  const what = lockout.scope === "login" ? "your account's password" : `the client secret of your app ${lockout.clientId}`;
  const paragraphs = [
    `${lockout.failures} wrong guesses of ${what} came from ${network}; further attempts from there are refused until ${lockout.lockedUntil.toISOString()}.`,
    "You can still sign in and request tokens from anywhere else.",
    lockout.scope === "login"
      ? "If this was not you, choose a strong, unique password."
      : "If this was not you and the client secret may have leaked, rotate it (POST /v1/providers/apps/:id/rotate-secret with revoke_tokens: true).",
  ];
  await db().runTransaction(async (tx) => {
    notifyAccount(
      tx,
      account,
      lockout.appId,
      {
        type: "security.lockout",
        data: {
          scope: lockout.scope,
          clientId: lockout.clientId,
          sourceNetwork: network,
          failures: lockout.failures,
          lockedUntil: lockout.lockedUntil.toISOString(),
        },
        mail: { subject: "Aiffinity: repeated failed sign-in attempts were blocked", paragraphs },
      },
      { preference: null, category: "security_lockout" },
      now,
    );
  });
}

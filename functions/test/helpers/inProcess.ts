import type { Publisher } from "../../src/kernel/pubsub";
import { findAccount } from "../../src/surfaces/console/repository";
import type { Account } from "../../src/surfaces/console/schemas";

/**
 * For tests that drive the packages services in the test process (against the same emulators):
 * a publisher that keeps messages instead of sending them, so a test decides when (and how
 * often) each is delivered, and the account a service call acts for.
 */
export class HoldingPublisher implements Publisher {
  readonly messages: { topic: string; message: Record<string, unknown> }[] = [];

  async publish(topic: string, message: Record<string, unknown>): Promise<string> {
    this.messages.push({ topic, message });
    return `held-${this.messages.length}`;
  }

  last(topic: string): Record<string, unknown> {
    const found = [...this.messages].reverse().find((m) => m.topic === topic);
    if (!found) throw new Error(`No message held for ${topic}`);
    return found.message;
  }
}

export const unreachablePublisher: Publisher = {
  publish: async () => {
    throw new Error("Pub/Sub is unreachable (simulated)");
  },
};

export async function accountOf(uid: string): Promise<Account> {
  const account = await findAccount(uid);
  if (!account) throw new Error(`No account ${uid}`);
  return account;
}

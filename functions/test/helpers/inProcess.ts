import type { z } from "zod";
import type { Publisher, Topic } from "../../src/kernel/pubsub";
import { type Account, findAccount } from "../../src/domain/accounts/account";

/**
 * For tests that drive the packages services in the test process (against the same emulators):
 * a publisher that keeps messages instead of sending them, so a test decides when (and how
 * often) each is delivered, and the account a service call acts for.
 */
export class HoldingPublisher implements Publisher {
  readonly messages: { topic: string; message: unknown }[] = [];

  async publish<S extends z.ZodType>(topic: Topic<S>, message: z.input<S>): Promise<string> {
    this.messages.push({ topic: topic.name, message });
    return `held-${this.messages.length}`;
  }

  /** The last message held for `topic`, as its handler would parse it. */
  last<S extends z.ZodType>(topic: Topic<S>): z.output<S> {
    const found = [...this.messages].reverse().find((m) => m.topic === topic.name);
    if (!found) throw new Error(`No message held for ${topic.name}`);
    return topic.message.parse(found.message);
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

import { z } from "zod";
import { DAY } from "../../kernel/clock";
import { typedCollection, zDate } from "../../kernel/firestore";

/** How long an e-mail verification link works. */
export const VERIFICATION_TTL_MS = DAY;

/** verificationTokens/{sha256(token)}: the token itself is never stored. */
export const VerificationTokenDoc = z.object({
  accountId: z.string(),
  expiresAt: zDate,
  usedAt: zDate.nullable(),
  createdAt: zDate,
});
export type VerificationTokenDoc = z.infer<typeof VerificationTokenDoc>;

export const verificationTokens = () => typedCollection("verificationTokens", VerificationTokenDoc);

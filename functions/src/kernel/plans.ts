import { z } from "zod";

const PLAN_TIERS = ["free", "pro", "enterprise"] as const;
export const PlanTier = z.enum(PLAN_TIERS);
export type PlanTier = z.infer<typeof PlanTier>;

/** Requests per minute, per app (OAuth clients) or per account (console users). */
export const PLAN_LIMITS: Record<PlanTier, number> = { free: 100, pro: 1_000, enterprise: 10_000 };

export const rateLimitOf = (plan: { planTier: PlanTier; customRateLimitPerMinute: number | null }) =>
  plan.customRateLimitPerMinute ?? PLAN_LIMITS[plan.planTier];

import { z } from "zod";
import { iso, IsoDate } from "../../kernel/http/envelope";
import { PlanTier, rateLimitOf } from "../../kernel/plans";
import { type Account, ACCOUNT_STATUSES, NotificationPreferences } from "../../domain/accounts/account";
import { type App, AppId } from "../../domain/accounts/app";
import { secureUrl } from "../../kernel/urls";
import { readOnlyFields } from "../../kernel/validation";

// ---------- Requests ----------

const companyName = z.string().trim().min(1).max(120);
const email = z
  .email()
  .max(254)
  .transform((e) => e.toLowerCase());

export const CreateAccountBody = z
  .strictObject({
    company_name: companyName.meta({ example: "Acme Weather Ltd" }),
    email: email.meta({ example: "dev@acme.example" }),
    password: z.string().min(1).max(128).meta({ description: "At least 10 characters, with a letter and a digit or symbol." }),
  })
  .meta({ id: "CreateAccountRequest" });

export const VerifyBody = z.strictObject({ token: z.string().min(1).max(200) }).meta({ id: "VerifyEmailRequest" });

export const ResendVerificationBody = z.strictObject({ email }).meta({ id: "ResendVerificationRequest" });

export const LoginBody = z.strictObject({ email, password: z.string().min(1).max(4096) }).meta({ id: "LoginRequest" });

export const RefreshBody = z.strictObject({ refresh_token: z.string().min(1).max(4096) }).meta({ id: "RefreshRequest" });

/** Fields a client may see but never change here. */
const READ_ONLY_ACCOUNT_FIELDS = ["id", "email", "plan_tier", "status", "email_verified", "created_at", "updated_at", "rate_limit_per_minute"];

export const UpdateAccountBody = readOnlyFields(READ_ONLY_ACCOUNT_FIELDS)
  .pipe(
    z
      .strictObject({
        company_name: companyName.optional(),
        contact_email: email.optional(),
        notification_preferences: NotificationPreferences.partial().optional(),
      })
      .refine((v) => Object.keys(v).length > 0, { message: "Provide at least one field to update" }),
  )
  .meta({ id: "UpdateAccountRequest" });

export const AppIdParams = z.object({ id: AppId });

const appName = z.string().trim().min(1).max(80);
const appDescription = z.string().trim().max(1000);
const redirectUris = z.array(secureUrl()).max(10);

export const CreateAppBody = z
  .strictObject({
    name: appName.meta({ example: "Acme Weather" }),
    description: appDescription.optional(),
    redirect_uris: redirectUris.optional(),
    webhook_url: secureUrl().nullable().optional(),
  })
  .meta({ id: "CreateAppRequest" });

export const UpdateAppBody = z
  .strictObject({
    name: appName.optional(),
    description: appDescription.optional(),
    redirect_uris: redirectUris.optional(),
    webhook_url: secureUrl().nullable().optional(),
  })
  .refine((v) => Object.keys(v).length > 0, { message: "Provide at least one field to update" })
  .meta({ id: "UpdateAppRequest" });

// ---------- Responses (the only fields a client ever sees) ----------

export const AccountOut = z
  .object({
    id: z.string(),
    company_name: z.string(),
    email: z.string(),
    contact_email: z.string(),
    email_verified: z.boolean(),
    status: z.enum(ACCOUNT_STATUSES),
    plan_tier: PlanTier,
    rate_limit_per_minute: z.number().int().meta({ description: "Requests per minute allowed by the plan (or a custom limit)." }),
    notification_preferences: NotificationPreferences,
    created_at: IsoDate,
    updated_at: IsoDate,
  })
  .meta({ id: "Account" });

export const AppOut = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    client_id: z.string().meta({ example: "prov_7fJ2kL9mN3pQ5rS8tU1v" }),
    redirect_uris: z.array(z.string()),
    webhook_url: z.string().nullable(),
    created_at: IsoDate,
    updated_at: IsoDate,
  })
  .meta({ id: "App" });

export const RotateSecretBody = z
  .strictObject({
    revoke_tokens: z
      .boolean()
      .optional()
      .meta({ description: "Also revoke every access token issued to the app so far (default false: they stay valid until they expire)." }),
  })
  .meta({ id: "RotateSecretRequest" });

export const AppWithSecretOut = AppOut.extend({
  client_secret: z.string().meta({ description: "Shown only in this response; store it now. Only its hash is kept." }),
}).meta({ id: "AppWithSecret" });

export const LoginOut = z
  .object({
    id_token: z.string().meta({ description: "Firebase ID token; send as `Authorization: Bearer <id_token>`." }),
    refresh_token: z.string(),
    expires_in: z.number().int().meta({ description: "Seconds until id_token expires." }),
    token_type: z.literal("Bearer"),
    account_id: z.string(),
  })
  .meta({ id: "LoginResult" });

export const AppAccessTokenOut = z
  .object({
    access_token: z.string().meta({ description: "Send as `Authorization: Bearer <access_token>` to the Provider Runtime and Capabilities APIs." }),
    token_type: z.literal("Bearer"),
    expires_in: z.number().int().meta({ description: "Seconds until the token expires." }),
  })
  .meta({ id: "AppAccessToken" });

export const AcceptedOut = z.object({ accepted: z.literal(true), message: z.string() }).meta({ id: "Accepted" });

export const DeletedOut = z.object({ id: z.string(), deleted: z.literal(true) }).meta({ id: "Deleted" });

export const toAccountOut = (a: Account): z.input<typeof AccountOut> => ({
  id: a.id,
  company_name: a.companyName,
  email: a.email,
  contact_email: a.contactEmail,
  email_verified: a.emailVerifiedAt !== null,
  status: a.status,
  plan_tier: a.planTier,
  rate_limit_per_minute: rateLimitOf(a),
  notification_preferences: a.notificationPreferences,
  created_at: iso(a.createdAt),
  updated_at: iso(a.updatedAt),
});

export const toAppOut = (a: App): z.input<typeof AppOut> => ({
  id: a.id,
  name: a.name,
  description: a.description,
  client_id: a.clientId,
  redirect_uris: a.redirectUris,
  webhook_url: a.webhookUrl,
  created_at: iso(a.createdAt),
  updated_at: iso(a.updatedAt),
});

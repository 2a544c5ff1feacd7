import { type z } from "zod";
import { clientIp } from "../../kernel/http/clientIp";
import { PageQuery } from "../../kernel/http/envelope";
import { listRoute, reply, route } from "../../kernel/http/route";
import type { Surface } from "../../kernel/http/surface";
import { publicRoute } from "../../kernel/auth/firebaseUser";
import { providerAccount } from "../../domain/accounts/principals";
import {
  AcceptedOut,
  AccountOut,
  AppIdParams,
  AppAccessTokenOut,
  AppOut,
  AppWithSecretOut,
  CreateAccountBody,
  CreateAppBody,
  DeletedOut,
  LoginBody,
  LoginOut,
  RefreshBody,
  RotateSecretBody,
  ResendVerificationBody,
  toAccountOut,
  toAppOut,
  UpdateAccountBody,
  UpdateAppBody,
  VerifyBody,
} from "./schemas";
import { ConsoleService } from "./service";

const tags = { account: ["Developer Console: Account"], apps: ["Developer Console: Apps"] };

export function consoleSurface(service = new ConsoleService()): Surface {
  const loginResult = (r: { idToken: string; refreshToken: string; expiresIn: number; uid: string }): z.input<typeof LoginOut> => ({
    id_token: r.idToken,
    refresh_token: r.refreshToken,
    expires_in: r.expiresIn,
    token_type: "Bearer",
    account_id: r.uid,
  });

  return {
    name: "console",
    routes: [
      route({
        method: "post",
        operationId: "createAccount",
        path: "/v1/providers/account",
        summary: "Create a developer account",
        description: "Creates the Firebase Auth user and the account (status `pending_verification`, plan `free`) and e-mails a verification token.",
        tags: tags.account,
        auth: publicRoute,
        body: CreateAccountBody,
        response: AccountOut,
        status: 201,
        location: () => "/v1/providers/account",
        errors: ["CONFLICT", "WEAK_PASSWORD"],
        handler: async ({ body }) => toAccountOut(await service.createAccount(body)),
      }),
      route({
        method: "post",
        operationId: "verifyEmail",
        path: "/v1/providers/account/verify",
        summary: "Verify the account's e-mail address",
        description: "Consumes the token from the verification e-mail (single use, valid 24 hours) and activates the account.",
        tags: tags.account,
        auth: publicRoute,
        body: VerifyBody,
        response: AccountOut,
        errors: ["VERIFICATION_TOKEN_INVALID", "VERIFICATION_TOKEN_EXPIRED", "VERIFICATION_TOKEN_USED", "ACCOUNT_ALREADY_VERIFIED"],
        handler: async ({ body }) => toAccountOut(await service.verifyEmail(body.token)),
      }),
      route({
        method: "post",
        operationId: "resendVerificationEmail",
        path: "/v1/providers/account/verify/resend",
        summary: "Send the verification e-mail again",
        description: "Always answers 202, whether or not the address has an unverified account, so it cannot reveal which addresses are registered.",
        tags: tags.account,
        auth: publicRoute,
        body: ResendVerificationBody,
        response: AcceptedOut,
        status: 202,
        handler: async ({ body }) => {
          await service.resendVerification(body.email);
          return { accepted: true as const, message: "If this address has an unverified account, a new verification e-mail is on its way" };
        },
      }),
      route({
        method: "post",
        operationId: "logIn",
        path: "/v1/providers/account/login",
        summary: "Log in with e-mail and password",
        description: "Returns a Firebase ID token (send it as a Bearer token) and a refresh token. Repeated failures for one e-mail are throttled.",
        tags: tags.account,
        auth: publicRoute,
        body: LoginBody,
        response: LoginOut,
        errors: ["INVALID_CREDENTIALS", "SERVICE_UNAVAILABLE"],
        handler: async ({ body, req }) => loginResult(await service.login(body, clientIp(req))),
      }),
      route({
        method: "post",
        operationId: "refreshIdToken",
        path: "/v1/providers/account/refresh",
        summary: "Exchange a refresh token for a new ID token",
        tags: tags.account,
        auth: publicRoute,
        body: RefreshBody,
        response: LoginOut,
        errors: ["INVALID_CREDENTIALS", "SERVICE_UNAVAILABLE"],
        handler: async ({ body }) => loginResult(await service.refresh(body.refresh_token)),
      }),
      route({
        method: "get",
        operationId: "getAccount",
        path: "/v1/providers/account",
        summary: "Retrieve your developer account",
        tags: tags.account,
        auth: providerAccount,
        response: AccountOut,
        errors: ["FORBIDDEN"],
        handler: async ({ principal }) => toAccountOut(principal.account),
      }),
      route({
        method: "patch",
        operationId: "updateAccount",
        path: "/v1/providers/account",
        summary: "Update company name, contact e-mail or notification preferences",
        description: "Only the fields sent change. `plan_tier` and the login e-mail are read-only here.",
        tags: tags.account,
        auth: providerAccount,
        body: UpdateAccountBody,
        response: AccountOut,
        errors: ["FORBIDDEN"],
        handler: async ({ principal, body }) => toAccountOut(await service.updateAccount(principal.account, body)),
      }),
      route({
        method: "post",
        operationId: "createApp",
        idempotency: "sealed",
        path: "/v1/providers/apps",
        summary: "Create a provider app",
        description: "Returns the app with its `client_id` and `client_secret`. The secret is shown only in this response.",
        tags: tags.apps,
        auth: providerAccount,
        body: CreateAppBody,
        response: AppWithSecretOut,
        status: 201,
        location: (app) => `/v1/providers/apps/${app.id}`,
        errors: ["FORBIDDEN", "ACCOUNT_NOT_VERIFIED"],
        handler: async ({ principal, body }) => {
          const { app, clientSecret } = await service.createApp(principal.account, body);
          return { ...toAppOut(app), client_secret: clientSecret };
        },
      }),
      listRoute({
        method: "get",
        operationId: "listApps",
        path: "/v1/providers/apps",
        summary: "List your apps",
        description: "Newest first. Supports `?limit` (1–100, default 20) and `?offset`.",
        tags: tags.apps,
        auth: providerAccount,
        query: PageQuery,
        response: AppOut,
        errors: ["FORBIDDEN"],
        handler: async ({ principal, query }) => {
          const page = await service.listApps(principal.account, query.limit, query.offset);
          return { ...page, items: page.items.map(toAppOut) };
        },
      }),
      route({
        method: "get",
        operationId: "getApp",
        path: "/v1/providers/apps/:id",
        summary: "Retrieve an app",
        tags: tags.apps,
        auth: providerAccount,
        params: AppIdParams,
        response: AppOut,
        errors: ["FORBIDDEN"],
        handler: async ({ principal, params }) => toAppOut(await service.getApp(principal.account, params.id)),
      }),
      route({
        method: "patch",
        operationId: "updateApp",
        lock: (p) => `app ${p.id}`,
        ifMatch: "/v1/providers/apps/:id",
        path: "/v1/providers/apps/:id",
        summary: "Update an app's name, description, redirect URIs or webhook URL",
        description: "Only the fields sent change.",
        tags: tags.apps,
        auth: providerAccount,
        params: AppIdParams,
        body: UpdateAppBody,
        response: AppOut,
        errors: ["FORBIDDEN"],
        handler: async ({ principal, params, body }) => toAppOut(await service.updateApp(principal.account, params.id, body)),
      }),
      route({
        method: "delete",
        operationId: "deleteApp",
        lock: (p) => `app ${p.id}`,
        path: "/v1/providers/apps/:id",
        summary: "Delete an app",
        description: "Its packages become orphaned: flagged in the catalog at once, removed from it after 30 days.",
        tags: tags.apps,
        auth: providerAccount,
        params: AppIdParams,
        response: DeletedOut,
        errors: ["FORBIDDEN"],
        handler: async ({ principal, params }) => {
          await service.deleteApp(principal.account, params.id);
          return { id: params.id, deleted: true as const };
        },
      }),
      route({
        method: "post",
        operationId: "rotateAppSecret",
        lock: (p) => `app ${p.id}`,
        idempotency: "sealed",
        path: "/v1/providers/apps/:id/rotate-secret",
        summary: "Rotate an app's client secret",
        description:
          "Returns a new `client_secret` (shown once); the previous secret stops working immediately. Access tokens already issued stay valid until they expire, unless the body says `revoke_tokens: true` (for a leaked secret): then they answer 401 at once and the app must request new ones with the new secret.",
        tags: tags.apps,
        auth: providerAccount,
        params: AppIdParams,
        body: RotateSecretBody,
        bodyOptional: true,
        response: AppWithSecretOut,
        errors: ["FORBIDDEN"],
        handler: async ({ principal, params, body }) => {
          const { app, clientSecret } = await service.rotateAppSecret(principal.account, params.id, body.revoke_tokens ?? false);
          return reply({ ...toAppOut(app), client_secret: clientSecret });
        },
      }),
      route({
        method: "post",
        operationId: "issueAppAccessToken",
        path: "/v1/providers/apps/:id/access-token",
        summary: "Issue an access token of one of your apps",
        description:
          "The same access token the client credentials grant gives (valid one hour), for a signed-in developer: the developer console calls the Provider Runtime and Capabilities APIs with it, without the client secret.",
        tags: tags.apps,
        auth: providerAccount,
        params: AppIdParams,
        response: AppAccessTokenOut,
        errors: ["FORBIDDEN"],
        handler: async ({ principal, params }) => {
          const { token, expiresIn } = await service.issueAppAccessToken(principal.account, params.id);
          return reply(
            { access_token: token, token_type: "Bearer" as const, expires_in: expiresIn },
            { headers: { "Cache-Control": "no-store", Pragma: "no-cache" } },
          );
        },
      }),
    ],
  };
}

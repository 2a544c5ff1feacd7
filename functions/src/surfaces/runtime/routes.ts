import type { z } from "zod";
import { publicRoute } from "../../kernel/auth/firebaseUser";
import { oauthApp } from "../../domain/accounts/principals";
import { PageQuery } from "../../kernel/http/envelope";
import { listRoute, rawRoute, reply, route } from "../../kernel/http/route";
import type { Surface } from "../../kernel/http/surface";
import { TokenService } from "./tokens";
import {
  AuthProfileBody,
  AuthProfileOut,
  CapabilityTemplateBody,
  CapabilityTemplateOut,
  CredentialSecretBody,
  CredentialSecretOut,
  DeliveriesQuery,
  HealthOut,
  JwksOut,
  RegisterRuntimeAppBody,
  RuntimeAppIdParams,
  RuntimeAppOut,
  TestDeliveryOut,
  toAuthProfileOut,
  toCapabilityTemplateOut,
  TokenOut,
  TokenRequestBody,
  toRuntimeAppOut,
  toWebhookDeliveryOut,
  toWebhookProfileOut,
  UpdateRuntimeAppBody,
  WebhookDeliveryOut,
  WebhookProfileBody,
  WebhookProfileResultOut,
} from "./schemas";
import { RuntimeService } from "./service";

const tags = { oauth: ["OAuth 2.1"], runtime: ["Provider Runtime"], webhooks: ["Provider Runtime: Webhooks"] };
const APP = "/v1/providers/runtime/apps/:id";

export function runtimeSurface(service = new RuntimeService(), tokens = new TokenService()): Surface {
  return {
    name: "runtime",
    routes: [
      rawRoute({
        method: "post",
        operationId: "requestAccessToken",
        path: "/v1/providers/auth/token",
        summary: "Exchange client credentials for an access token",
        description:
          "OAuth 2.1 client credentials grant. Send `grant_type=client_credentials` with `client_id` and `client_secret` as JSON or form-encoded, or the credentials in HTTP Basic. " +
          "Answers an RS256 JWT valid for one hour (verify it with the JWKS). Errors use the OAuth format `{error, error_description}`, not the envelope.",
        tags: tags.oauth,
        auth: publicRoute,
        body: TokenRequestBody,
        bodyTypes: ["json", "form"],
        maxBodyBytes: 16 * 1024,
        errorFormat: "oauth",
        response: TokenOut,
        errors: ["UNAUTHENTICATED"],
        handler: async ({ req, body }) => reply(await tokens.issue(req, body), { headers: { "Cache-Control": "no-store", Pragma: "no-cache" } }),
      }),
      rawRoute({
        method: "get",
        operationId: "getJsonWebKeySet",
        path: "/v1/providers/auth/jwks",
        summary: "Public keys that verify access tokens (JWKS)",
        description: "Keys are identified by `kid`; during a rotation the previous key stays listed until the last token it signed has expired.",
        tags: tags.oauth,
        auth: publicRoute,
        response: JwksOut,
        handler: async () => reply((await tokens.jwks()) as z.input<typeof JwksOut>, { headers: { "Cache-Control": "public, max-age=300" } }),
      }),
      route({
        method: "post",
        operationId: "registerRuntimeApp",
        idempotency: "sealed",
        path: "/v1/providers/runtime/apps",
        summary: "Register a runtime app",
        description: "Binds your service endpoint to a console app of your account (one runtime app per console app).",
        tags: tags.runtime,
        auth: oauthApp,
        body: RegisterRuntimeAppBody,
        response: RuntimeAppOut,
        status: 201,
        location: (app) => `/v1/providers/runtime/apps/${app.id}`,
        errors: ["CONFLICT", "FORBIDDEN"],
        handler: async ({ principal, body }) => toRuntimeAppOut(await service.register(principal, body)),
      }),
      listRoute({
        method: "get",
        operationId: "listRuntimeApps",
        path: "/v1/providers/runtime/apps",
        summary: "List your account's runtime apps",
        description: "Newest first. Supports `?limit` and `?offset`.",
        tags: tags.runtime,
        auth: oauthApp,
        query: PageQuery,
        response: RuntimeAppOut,
        errors: ["FORBIDDEN"],
        handler: async ({ principal, query }) => {
          const page = await service.list(principal, query.limit, query.offset);
          return { ...page, items: page.items.map(toRuntimeAppOut) };
        },
      }),
      route({
        method: "get",
        operationId: "getRuntimeApp",
        path: APP,
        summary: "Retrieve a runtime app with its auth profile, capability template and webhook profile",
        description: "Secrets are masked.",
        tags: tags.runtime,
        auth: oauthApp,
        params: RuntimeAppIdParams,
        response: RuntimeAppOut,
        errors: ["FORBIDDEN"],
        handler: async ({ principal, params }) => toRuntimeAppOut(await service.get(principal, params.id)),
      }),
      route({
        method: "patch",
        operationId: "updateRuntimeApp",
        lock: (p) => `runtime app ${p.id}`,
        ifMatch: APP,
        path: APP,
        summary: "Update the endpoint URL, display name or status",
        tags: tags.runtime,
        auth: oauthApp,
        params: RuntimeAppIdParams,
        body: UpdateRuntimeAppBody,
        response: RuntimeAppOut,
        errors: ["FORBIDDEN"],
        handler: async ({ principal, params, body }) => toRuntimeAppOut(await service.update(principal, params.id, body)),
      }),
      route({
        method: "put",
        operationId: "setAuthProfile",
        lock: (p) => `runtime app ${p.id}`,
        ifMatch: APP,
        path: `${APP}/auth-profile`,
        summary: "Set how Aiffinity authenticates to your runtime",
        description:
          "`oauth2` (client credentials against your token URL), `api_key` or `custom` headers. Secrets are encrypted at rest and never returned.",
        tags: tags.runtime,
        auth: oauthApp,
        params: RuntimeAppIdParams,
        body: AuthProfileBody,
        response: AuthProfileOut,
        errors: ["FORBIDDEN"],
        handler: async ({ principal, params, body }) => toAuthProfileOut(await service.putAuthProfile(principal, params.id, body)),
      }),
      route({
        method: "put",
        operationId: "setCapabilityTemplate",
        lock: (p) => `runtime app ${p.id}`,
        ifMatch: APP,
        path: `${APP}/capability-template`,
        summary: "Set the capability template",
        description: "Capability schemas (JSON Schema draft 2020-12, checked), refresh intervals (60 s to 24 h), actions and surface guidance.",
        tags: tags.runtime,
        auth: oauthApp,
        params: RuntimeAppIdParams,
        body: CapabilityTemplateBody,
        maxBodyBytes: 512 * 1024,
        response: CapabilityTemplateOut,
        errors: ["FORBIDDEN"],
        handler: async ({ principal, params, body }) => toCapabilityTemplateOut(await service.putCapabilityTemplate(principal, params.id, body)),
      }),
      route({
        method: "put",
        operationId: "setWebhookProfile",
        lock: (p) => `runtime app ${p.id}`,
        ifMatch: APP,
        path: `${APP}/webhook-profile`,
        summary: "Set the webhook URL, events and retry policy",
        description:
          "Also re-enables an endpoint disabled after a 410. The first time, a signing secret is created and returned once (`signingSecret`).",
        tags: tags.webhooks,
        auth: oauthApp,
        params: RuntimeAppIdParams,
        body: WebhookProfileBody,
        response: WebhookProfileResultOut,
        errors: ["FORBIDDEN"],
        handler: async ({ principal, params, body }) => {
          const { profile, newSecret } = await service.putWebhookProfile(principal, params.id, body);
          return { ...toWebhookProfileOut(profile), ...(newSecret ? { signingSecret: newSecret } : {}) };
        },
      }),
      route({
        method: "post",
        operationId: "sendTestWebhook",
        path: `${APP}/webhook-profile/test`,
        summary: "Send a test delivery (`webhook.test`)",
        description: "Queues a signed `webhook.test` delivery to the webhook URL; follow it in the deliveries log.",
        tags: tags.webhooks,
        auth: oauthApp,
        params: RuntimeAppIdParams,
        response: TestDeliveryOut,
        status: 202,
        errors: ["FORBIDDEN", "CONFLICT"],
        handler: async ({ principal, params }) => {
          const delivery = await service.testWebhook(principal, params.id);
          return { deliveryId: delivery.id, eventId: delivery.eventId, status: delivery.status };
        },
      }),
      listRoute({
        method: "get",
        operationId: "listWebhookDeliveries",
        path: `${APP}/webhook-profile/deliveries`,
        summary: "The deliveries log",
        description: "Newest first, each with its attempts (status code, outcome, duration). Supports `?status`, `?limit` and `?offset`.",
        tags: tags.webhooks,
        auth: oauthApp,
        params: RuntimeAppIdParams,
        query: DeliveriesQuery,
        response: WebhookDeliveryOut,
        errors: ["FORBIDDEN"],
        handler: async ({ principal, params, query }) => {
          const page = await service.deliveries(principal, params.id, query.status, query.limit, query.offset);
          return { ...page, items: page.items.map(toWebhookDeliveryOut) };
        },
      }),
      route({
        method: "put",
        operationId: "setCredentialSecret",
        lock: (p) => `runtime app ${p.id}`,
        ifMatch: APP,
        path: `${APP}/credential-secret`,
        summary: "Set or rotate the webhook signing secret",
        description:
          "Returns the new `whsec_` secret once. The previous secret keeps signing (a second signature) for the grace period (default 24 h).",
        tags: tags.webhooks,
        auth: oauthApp,
        params: RuntimeAppIdParams,
        body: CredentialSecretBody,
        bodyOptional: true,
        response: CredentialSecretOut,
        errors: ["FORBIDDEN"],
        handler: async ({ principal, params, body }) => {
          const result = await service.putCredentialSecret(principal, params.id, body);
          return {
            secret: result.secret,
            createdAt: result.createdAt.toISOString(),
            previousSecretExpiresAt: result.previousSecretExpiresAt?.toISOString() ?? null,
          };
        },
      }),
      route({
        method: "get",
        operationId: "probeRuntimeHealth",
        path: `${APP}/health`,
        summary: "Probe your runtime's health",
        description:
          "Calls `GET <endpointUrl>/health` now (5 s timeout) with the configured credentials; reports connectivity, registered handlers, uptime and the last invocation.",
        tags: tags.runtime,
        auth: oauthApp,
        params: RuntimeAppIdParams,
        response: HealthOut,
        errors: ["FORBIDDEN"],
        handler: async ({ principal, params, requestId }) => service.health(principal, params.id, requestId),
      }),
    ],
  };
}

import { z } from "zod";
import { publicRoute } from "../../kernel/auth/firebaseUser";
import { params } from "../../kernel/config";
import { buildOpenApiDocument, type OpenApiExtras } from "../../kernel/http/openapi";
import { rawRoute, reply } from "../../kernel/http/route";
import type { Surface } from "../../kernel/http/surface";
import { PROVIDER_EVENT_DATA } from "../../domain/events/providerEvents";

const TAGS: OpenApiExtras["tags"] = [
  { name: "Developer Console: Account", description: "Sign up, verify the e-mail address, log in, and manage the developer account." },
  {
    name: "Developer Console: Apps",
    description: "Provider apps: the OAuth clients of the runtime and capabilities APIs (client secrets are shown once).",
  },
  { name: "OAuth 2.1", description: "Client credentials for access tokens; errors follow RFC 6749, not the API envelope." },
  { name: "Package Management", description: "Capability packages: metadata, listing and deprecation." },
  { name: "Package Management: Versions", description: "Versions: edit, validate (conformance suite), submit, publish, roll back, deprecate." },
  { name: "Package Management: Reviews", description: "The review queue, for Aiffinity reviewers (the `reviewer` claim)." },
  { name: "Provider Runtime", description: "Your runtime: endpoint, auth profile, capability template and health." },
  { name: "Provider Runtime: Webhooks", description: "Webhook endpoint, signing secret, test deliveries and the deliveries log." },
  { name: "Provider Capabilities", description: "Invoke capabilities, read cached state, run actions, read history, stream state changes." },
  { name: "Provider Capabilities: Sandbox", description: "Test scenarios run against your runtime, with traces; no production data." },
  { name: "Provider Capabilities: Certification", description: "Certification tiers, performance baselines and quality alerts." },
  { name: "Catalog", description: "Browse and search the catalog (end users)." },
  { name: "Catalog: Installs", description: "Install and uninstall packages into the user's space." },
  { name: "Catalog: Ratings", description: "Rate installed packages." },
  { name: "Platform", description: "This document." },
  { name: "Webhooks", description: "Events Aiffinity POSTs to your webhook endpoint (docs/webhooks.md)." },
];

const EVENT_SUMMARIES: Record<keyof typeof PROVIDER_EVENT_DATA, string> = {
  "webhook.test": "You asked for a test delivery",
  "package.validation.completed": "A conformance run finished",
  "package.version.submitted": "You submitted a version for review",
  "package.review.queued": "A version waits for a reviewer",
  "package.review.approved": "A version was approved",
  "package.review.rejected": "A version was rejected",
  "package.version.published": "A version became the catalog's current version",
  "package.version.deprecated": "You deprecated a version",
  "package.deprecated": "You deprecated a package",
  "install.created": "A user installed your package",
  "install.deleted": "A user uninstalled your package",
  "alert.opened": "A quality alert opened",
  "alert.resolved": "A quality alert resolved",
  "certification.changed": "A package's certification tier changed",
  "security.lockout": "Repeated wrong passwords or client secrets from one network locked that network out",
};

/** The body of every delivery: the event envelope around the type's payload. */
const deliveryBody = (type: string, data: z.ZodType) =>
  z.object({
    id: z.string().meta({ description: "The event id (the same for every endpoint it is sent to)." }),
    type: z.literal(type),
    occurredAt: z.iso.datetime(),
    appId: z.string().nullable().meta({ description: "The console app the event concerns, or null for account-wide events." }),
    data,
  });

/** The OpenAPI document of the given surfaces, with the tags and the webhook events. */
export function openApiDocumentOf(surfaces: Surface[], serverUrl: string) {
  const webhooks = Object.fromEntries(
    Object.entries(PROVIDER_EVENT_DATA).map(([type, data]) => [
      type,
      { summary: EVENT_SUMMARIES[type as keyof typeof PROVIDER_EVENT_DATA], body: deliveryBody(type, data) },
    ]),
  );
  return buildOpenApiDocument(surfaces, serverUrl, { tags: TAGS, webhooks });
}

/** Routes that belong to no single surface: the OpenAPI document of the whole API. */
export function platformSurface(all: () => Surface[]): Surface {
  let document: ReturnType<typeof buildOpenApiDocument> | undefined;
  return {
    name: "platform",
    routes: [
      rawRoute({
        method: "get",
        operationId: "getOpenApiDocument",
        path: "/v1/openapi.json",
        summary: "OpenAPI 3.1 document of the whole API",
        description: "Generated from the same zod schemas that validate requests and responses.",
        tags: ["Platform"],
        auth: publicRoute,
        response: z.record(z.string(), z.unknown()).meta({ description: "An OpenAPI 3.1 document" }),
        handler: async () => {
          document ??= openApiDocumentOf(all(), params.publicBaseUrl.value());
          return reply(document as unknown as Record<string, unknown>, { headers: { "Cache-Control": "public, max-age=300" } });
        },
      }),
    ],
  };
}

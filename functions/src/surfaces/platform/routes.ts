import { z } from "zod";
import { publicRoute } from "../../kernel/auth/firebaseUser";
import { params } from "../../kernel/config";
import { buildOpenApiDocument } from "../../kernel/http/openapi";
import { rawRoute, reply } from "../../kernel/http/route";
import type { Surface } from "../../kernel/http/surface";

/** Routes that belong to no single surface: the OpenAPI document of the whole API. */
export function platformSurface(all: () => Surface[]): Surface {
  let document: ReturnType<typeof buildOpenApiDocument> | undefined;
  return {
    name: "platform",
    routes: [
      rawRoute({
        method: "get",
        path: "/v1/openapi.json",
        summary: "OpenAPI 3.1 document of the whole API",
        description: "Generated from the same zod schemas that validate requests and responses.",
        tags: ["Platform"],
        auth: publicRoute,
        response: z.record(z.string(), z.unknown()).meta({ description: "An OpenAPI 3.1 document" }),
        handler: async () => {
          document ??= buildOpenApiDocument(all(), params.publicBaseUrl.value());
          return reply(document as unknown as Record<string, unknown>, { headers: { "Cache-Control": "public, max-age=300" } });
        },
      }),
    ],
  };
}

import { buildOpenApiDocument } from "./kernel/http/openapi";
import { buildSurfaces } from "./api";

/** The OpenAPI document of the whole API, built offline (clients are generated from it at build time). */
export function openApiDocument(serverUrl = "https://api.aiffinity.me") {
  return buildOpenApiDocument(Object.values(buildSurfaces()), serverUrl);
}

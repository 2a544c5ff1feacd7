import { buildSurfaces } from "./api";
import { openApiDocumentOf } from "./surfaces/platform/routes";

/** The OpenAPI document of the whole API, built offline (clients are generated from it at build time). */
export function openApiDocument(serverUrl = "https://api.aiffinity.me") {
  const { platform, ...surfaces } = buildSurfaces();
  return openApiDocumentOf([...Object.values(surfaces), platform], serverUrl);
}

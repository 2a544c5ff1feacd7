import type { Surface } from "./kernel/http/surface";
import { capabilitiesSurface } from "./surfaces/capabilities/routes";
import { catalogSurface } from "./surfaces/catalog/routes";
import { consoleSurface } from "./surfaces/console/routes";
import { packagesSurface } from "./surfaces/packages/routes";
import { platformSurface } from "./surfaces/platform/routes";
import { runtimeSurface } from "./surfaces/runtime/routes";

/**
 * The composition root: every API surface, each served by its own Cloud Function (src/index.ts
 * and the Hosting rewrites in firebase.json). Surfaces never import each other; what spans them
 * is wired here (the platform surface documents all the others).
 */
export function buildSurfaces() {
  const surfaces = {
    console: consoleSurface(),
    packages: packagesSurface(),
    runtime: runtimeSurface(),
    capabilities: capabilitiesSurface(),
    catalog: catalogSurface(),
  };
  const platform: Surface = platformSurface(() => [...Object.values(surfaces), platform]);
  return { ...surfaces, platform };
}

import type { Surface } from "../kernel/http/surface";
import { capabilitiesSurface } from "./capabilities/router";
import { engineState } from "./catalog/engine";
import { catalogSurface } from "./catalog/router";
import { CatalogService } from "./catalog/service";
import { consoleSurface } from "./console/router";
import { packagesSurface } from "./packages/router";
import { platformSurface } from "./platform";
import { runtimeSurface } from "./runtime/router";

/**
 * Every API surface, each served by its own Cloud Function (see src/index.ts and the Hosting
 * rewrites in firebase.json). Surfaces of later milestones start with no routes.
 */
export function buildSurfaces() {
  const surfaces = {
    console: consoleSurface(),
    packages: packagesSurface(),
    runtime: runtimeSurface(),
    capabilities: capabilitiesSurface(),
    catalog: catalogSurface(new CatalogService({ state: engineState })),
    platform: undefined as unknown as Surface,
  };
  surfaces.platform = platformSurface(() => Object.values(surfaces));
  return surfaces;
}

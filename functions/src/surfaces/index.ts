import type { Surface } from "../kernel/http/surface";
import { qualityRoutes } from "./capabilities/quality/router";
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
    capabilities: { name: "capabilities", routes: [...qualityRoutes()] } as Surface,
    catalog: { name: "catalog", routes: [] } as Surface,
    platform: undefined as unknown as Surface,
  };
  surfaces.platform = platformSurface(() => Object.values(surfaces));
  return surfaces;
}

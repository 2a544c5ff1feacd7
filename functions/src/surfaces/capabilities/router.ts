import type { Surface } from "../../kernel/http/surface";
import { qualityRoutes } from "./quality/router";
import { invocationRoutes } from "./routes";
import { sandboxRoutes } from "./sandbox/routes";

/**
 * The Provider Capabilities API (docs/capabilities.md, docs/sandbox.md, docs/quality.md). Each part lists its own
 * routes; fixed first segments (`sandbox`, `baselines`, ...) never collide with `:id`, which always has a dot.
 */
export function capabilitiesSurface(): Surface {
  return {
    name: "capabilities",
    routes: [...invocationRoutes(), ...sandboxRoutes(), ...qualityRoutes()],
  };
}

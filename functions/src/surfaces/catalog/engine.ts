import type { BindingStateStore } from "./service";
import type { SyncEngine } from "./sync";

/**
 * The capabilities engine as the catalog calls it: invoking a binding (data sync) and deleting its
 * cached state (uninstall). PENDING: the engine (issue 5, surfaces/capabilities/engine.ts) is not
 * merged yet; these adapters are replaced by its `invokeBinding` and `deleteBindingState` then.
 */
export const engineSync: SyncEngine = {
  invokeBinding: async () => {
    throw new Error("The capabilities engine is not available yet: bindings cannot be invoked");
  },
};

/** No cached state exists before the engine does. */
export const engineState: BindingStateStore = { deleteBindingState: () => undefined };

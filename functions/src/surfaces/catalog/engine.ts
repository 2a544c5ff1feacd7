import { deleteBindingState, invokeBinding } from "../capabilities/engine";
import type { BindingStateStore } from "./service";
import type { SyncEngine } from "./sync";

/** The capabilities engine as the catalog calls it: data sync invokes bindings, uninstall deletes their cached state. */
export const engineSync: SyncEngine = {
  invokeBinding: async (binding, options) => {
    const outcome = await invokeBinding(binding, options);
    // A skipped binding (removed, parameters or capability gone) was not called, nor rescheduled.
    return { ok: outcome.status === "ok", scheduled: outcome.status !== "skipped" };
  },
};

export const engineState: BindingStateStore = { deleteBindingState };

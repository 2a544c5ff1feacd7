// One peer of the load suite (the provider runtime or the webhook receiver: the sample provider) in
// a process of its own, as a provider's runtime is: on the load generator's event loop, beside 200
// autocannon clients, it answered after the API's 3 s provider deadline (12 × 504 on invoke, 10:15).
// Driven over IPC by emulators/load/run.mjs: {id, start: {port, secrets}} | {id, secrets} |
// {id, collect: true} | {id, stop: true}; each answered {id, ...}. Exits when its parent goes.
"use strict";
const { createSampleProvider } = require("../sample-provider/index.js");

const INVOKE_PATH = "/capabilities/weather_forecast/invoke";
let provider = null;

/** What the provider logged since the last collect, reduced to what the load suite counts; the logs are emptied. */
function collect() {
  if (!provider) return { invokes: 0, loadInvokes: 0, webhooks: [] };
  const invokes = provider.requests.filter((r) => r.path === INVOKE_PATH);
  const out = {
    invokes: invokes.length,
    // The load's provider-initiated calls (mock users usr_load…), not the data syncs of installs.
    loadInvokes: invokes.filter((r) => /"id":"usr_load/.test(r.body ?? "")).length,
    webhooks: provider.webhooks.map((w) => ({ headers: { "webhook-id": w.headers["webhook-id"] }, signatureValid: w.signatureValid })),
  };
  provider.requests.length = 0;
  provider.webhooks.length = 0;
  return out;
}

process.on("message", async (m) => {
  try {
    if (m.start) {
      provider = await createSampleProvider({ port: m.start.port });
      provider.setSigningSecrets(m.start.secrets);
      process.send({ id: m.id, url: provider.url });
    } else if (m.secrets) {
      provider.setSigningSecrets(m.secrets);
      process.send({ id: m.id });
    } else if (m.collect) {
      process.send({ id: m.id, ...collect() });
    } else if (m.stop) {
      // Closing drops the connections at once; what was logged until then is counted, nothing after.
      const closed = provider.close();
      const last = collect();
      provider = null;
      await closed;
      process.send({ id: m.id, ...last });
    }
  } catch (error) {
    process.send({ id: m.id, error: String(error?.stack ?? error) });
  }
});
process.on("disconnect", () => process.exit(0));

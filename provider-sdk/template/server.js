// @ts-check
// Your Aiffinity provider runtime: `npm start` serves it on the port of the manifest's
// runtime.endpointUrl (or $PORT). The SDK authenticates every call with the manifest's auth
// profile, verifies the platform's request signatures, answers GET /health and routes invocations
// to the handlers in capabilities.js. Secrets come from the environment (.env locally).
"use strict";

const { createRuntime, listen } = require("@aiffinity/provider-sdk");
const manifest = require("./aiffinity.json");
const { register } = require("./capabilities");

const runtime = register(createRuntime({ manifest }));

// Webhooks (docs/webhooks.md): verified with the signing secret, each delivery handled once.
runtime.webhook("*", (event) => {
  console.log(`[webhook] ${event.type} ${JSON.stringify(event.data)}`);
});

listen(runtime).then(({ url }) => {
  console.log(`Provider runtime listening on ${url} (handlers: ${runtime.handlers().join(", ")})`);
});

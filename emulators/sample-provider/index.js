// The sample provider runtime (docs/provider-runtime.md), built on @aiffinity/provider-sdk: the
// same SDK and the same weather handler (the SDK's template, capabilities.js) that `aiffinity init`
// gives a new provider. Its manifest is ./aiffinity.json.
//
// `npm start` runs one (emulators/seed.mjs) and registers it as the demo app's runtime; tests create
// their own in-process with createSampleProvider() on a random port and use it as a real peer. On top
// of what the SDK does (credentials of every auth mode: its API key, its own OAuth 2.0 token endpoint,
// custom headers; request signatures; schema checks), it keeps what tests need: it accepts every auth
// mode at once and records which one matched and whether the signature verified instead of refusing,
// logs every request, receives webhooks with a configurable sequence of answers, and can be switched
// into failure modes (hang, 5xx, malformed body, a 10 MB body, slow answers, an answer breaking the
// output schema, a redirect).
//
// Run standalone: node emulators/sample-provider/index.js [--port 8787]
"use strict";

const http = require("node:http");
const { randomBytes } = require("node:crypto");
const { createRuntime, readBody, RuntimeError, verifyWebhookSignature } = require("@aiffinity/provider-sdk");
const { forecast, register: registerWeather } = require("@aiffinity/provider-sdk/template/capabilities.js");
const manifest = require("./aiffinity.json");

const DEFAULTS = {
  apiKeyHeader: "x-api-key",
  apiKey: "sample-api-key-0123456789abcdef",
  oauthClientId: "aiffinity",
  oauthClientSecret: "sample-oauth-secret-0123456789abcdef",
  customHeader: "x-sample-auth",
  customSecret: "sample-custom-secret-0123456789",
  tokenTtlSeconds: 3600,
};

/** Standard Webhooks verification (the SDK's, through the standardwebhooks package); any of several secrets. */
function verifySignature(secrets, headers, body) {
  return secrets.length > 0 && verifyWebhookSignature(secrets, headers, body);
}

const CAPABILITIES = ["weather_forecast", "task_list", "task_list.create_task"];

const quiet = { info() {}, warn() {}, error: (message, fields) => console.error(`[sample provider] ${message}`, fields ?? "") };

/**
 * Starts a sample provider. Options: port (0 = random), host, apiKey, apiKeyHeader, oauthClientId,
 * oauthClientSecret, customHeader, customSecret, tokenTtlSeconds, signingSecrets (whsec_...).
 * Resolves to a handle: url, requests (the log), tokensIssued, setFailure(), setWebhookResponses(),
 * setSigningSecrets(), reset(), close().
 */
async function createSampleProvider(options = {}) {
  const config = { ...DEFAULTS, ...options };
  const state = {
    requests: [],
    webhooks: [],
    tokensIssued: 0,
    failure: { mode: "none", delayMs: 0 },
    webhookResponses: [],
    signingSecrets: [...(config.signingSecrets ?? [])],
    tasks: new Map(),
  };

  const runtime = createRuntime({
    manifest,
    version: "1.0.0",
    auth: [
      { type: "api_key", headerName: config.apiKeyHeader, value: config.apiKey },
      { type: "oauth2", clientId: config.oauthClientId, clientSecret: config.oauthClientSecret, tokenTtlSeconds: config.tokenTtlSeconds },
      { type: "custom", headers: { [config.customHeader]: "Token {{secret.token}}" }, secrets: { token: config.customSecret } },
    ],
    signingSecret: state.signingSecrets,
    // Tests assert whether signatures verified; a real runtime refuses what does not (the default).
    requireSignature: false,
    logger: quiet,
  });
  runtime.onTokenIssued = () => state.tokensIssued++;
  registerWeather(runtime);
  runtime.capability("task_list", ({ user }) => ({ data: { tasks: state.tasks.get(user.id) ?? [] }, ttlSeconds: 60 }));
  runtime.action("task_list", "create_task", ({ input, user }) => {
    // The schema allows a blank title; this runtime refuses it itself (tests rely on a runtime's own 4xx).
    const title = input.title.trim();
    if (!title) throw new RuntimeError(422, "VALIDATION_ERROR", "input.title is required");
    const task = { id: `task_${randomBytes(6).toString("hex")}`, title, done: false, createdAt: new Date().toISOString() };
    state.tasks.set(user.id, [...(state.tasks.get(user.id) ?? []), task]);
    return { result: { task }, status: 201 };
  });

  const json = (res, status, body, headers = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
    res.end(text);
  };

  async function applyFailure(res) {
    const { mode, delayMs } = state.failure;
    if (mode === "hang") return true; // never answers; the caller's deadline must cut it
    if (mode === "slow") await new Promise((r) => setTimeout(r, delayMs || 3000));
    if (mode === "error_500") {
      json(res, 500, { error: { code: "INTERNAL", message: "Simulated failure" } });
      return true;
    }
    if (mode === "invalid_output") {
      // Valid JSON in the contract's envelope, but `data` breaks every capability's outputSchema.
      json(res, 200, { data: { location: 42, days: "soon", tasks: "none" }, ttlSeconds: 60 });
      return true;
    }
    if (mode === "redirect") {
      res.writeHead(302, { location: "http://169.254.169.254/latest/meta-data/", "content-length": 0 });
      res.end();
      return true;
    }
    if (mode === "malformed") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"status": "ok", "broken": ');
      return true;
    }
    if (mode === "huge") {
      // 10 MB of valid JSON, streamed.
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"status":"ok","padding":"');
      const chunk = "x".repeat(64 * 1024);
      for (let sent = 0; sent < 10 * 1024 * 1024; sent += chunk.length) {
        if (!res.write(chunk)) await new Promise((r) => res.once("drain", r));
        if (res.destroyed) return true;
      }
      res.end('"}');
      return true;
    }
    return false;
  }

  function receiveWebhook(req, res, body) {
    let parsed = null;
    try {
      parsed = JSON.parse(body);
    } catch {
      /* recorded as null */
    }
    const signatureValid = verifySignature(state.signingSecrets, req.headers, body);
    state.webhooks.push({ headers: { ...req.headers }, body, json: parsed, signatureValid, at: new Date().toISOString() });
    const status = state.webhookResponses.length > 1 ? state.webhookResponses.shift() : (state.webhookResponses[0] ?? 204);
    res.writeHead(status, { "content-length": 0 });
    res.end();
  }

  const server = http.createServer(async (req, res) => {
    try {
      const body = await readBody(req, 16 * 1024 * 1024);
      const path = new URL(req.url, "http://sample").pathname;
      if (req.method === "POST" && path === "/webhooks") return receiveWebhook(req, res, body);
      const entry = { method: req.method, path, headers: { ...req.headers }, body, auth: null, signatureValid: null, at: new Date().toISOString() };
      state.requests.push(entry);
      if (path !== "/oauth/token" && (await applyFailure(res))) return;
      const answer = await runtime.handle({ method: req.method, path: req.url, headers: req.headers, body });
      entry.auth = answer.verification.auth;
      entry.signatureValid = answer.verification.signature;
      res.writeHead(answer.status, { ...answer.headers, "content-length": Buffer.byteLength(answer.body) });
      res.end(answer.body);
    } catch (error) {
      if (!res.headersSent) json(res, 500, { error: { code: "INTERNAL", message: String(error) } });
    }
  });
  const sockets = new Set();
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise((resolve) => server.listen(config.port ?? 0, config.host ?? "127.0.0.1", resolve));
  const { port } = server.address();

  return {
    url: `http://${config.host ?? "127.0.0.1"}:${port}`,
    port,
    config,
    runtime,
    requests: state.requests,
    webhooks: state.webhooks,
    get tokensIssued() {
      return state.tokensIssued;
    },
    /** mode: none | hang | slow | error_500 | malformed | huge | invalid_output | redirect (delayMs for slow). */
    setFailure(mode, delayMs = 0) {
      state.failure = { mode, delayMs };
    },
    /** Statuses answered to successive webhook deliveries; the last one repeats (default 204). */
    setWebhookResponses(statuses) {
      state.webhookResponses = [...statuses];
    },
    setSigningSecrets(secrets) {
      state.signingSecrets = [...secrets];
      runtime.setSigningSecrets(state.signingSecrets);
    },
    reset() {
      state.requests.length = 0;
      state.webhooks.length = 0;
      state.failure = { mode: "none", delayMs: 0 };
      state.webhookResponses = [];
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

module.exports = { createSampleProvider, verifySignature, forecast, DEFAULTS, CAPABILITIES };

if (require.main === module) {
  const portArg = process.argv.indexOf("--port");
  const port = portArg > 0 ? Number(process.argv[portArg + 1]) : Number(process.env.SAMPLE_PROVIDER_PORT ?? 8787);
  createSampleProvider({ port }).then((provider) => {
    console.log(`Sample provider runtime on ${provider.url} (api key header ${DEFAULTS.apiKeyHeader}: ${DEFAULTS.apiKey})`);
  });
}

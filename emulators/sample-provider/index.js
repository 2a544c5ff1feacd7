// A sample provider runtime implementing docs/provider-runtime.md, with no dependencies.
//
// `npm start` runs one (emulators/seed.mjs) and registers it as the demo app's runtime; tests create
// their own in-process with createSampleProvider() on a random port and use it as a real peer:
// it checks the credentials Aiffinity sends (api_key, its own OAuth 2.0 token endpoint, custom
// headers), verifies request signatures, receives webhooks, logs every request for assertions and
// can be switched into failure modes (hang, 5xx, malformed body, a 10 MB body, slow answers, an answer
// breaking the output schema, a redirect).
//
// Run standalone: node emulators/sample-provider/index.js [--port 8787]
"use strict";

const http = require("node:http");
const { createHmac, randomBytes, timingSafeEqual } = require("node:crypto");

const DEFAULTS = {
  apiKeyHeader: "x-api-key",
  apiKey: "sample-api-key-0123456789abcdef",
  oauthClientId: "aiffinity",
  oauthClientSecret: "sample-oauth-secret-0123456789abcdef",
  customHeader: "x-sample-auth",
  customSecret: "sample-custom-secret-0123456789",
  tokenTtlSeconds: 3600,
};

/** Standard Webhooks verification: `v1,<base64 HMAC-SHA256(id.timestamp.body)>`, any of several. */
function verifySignature(secrets, headers, body, toleranceSeconds = 300) {
  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  const signatures = headers["webhook-signature"];
  if (!id || !timestamp || !signatures) return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > toleranceSeconds) return false;
  return secrets.some((secret) => {
    const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
    const expected = Buffer.from(`v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")}`);
    return signatures.split(" ").some((candidate) => {
      const given = Buffer.from(candidate);
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
  });
}

/** A deterministic forecast: the same location and day always give the same weather. */
function forecast(location, days, from = new Date()) {
  const seed = [...location.toLowerCase()].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
  const conditions = ["sunny", "partly_cloudy", "cloudy", "rain", "showers", "snow"];
  const start = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate());
  return Array.from({ length: days }, (_, i) => {
    const date = new Date(start + i * 86_400_000).toISOString().slice(0, 10);
    const h = (seed + (start / 86_400_000 + i) * 2654435761) >>> 0;
    const high = 5 + (h % 25);
    return { date, highC: high, lowC: high - 4 - (h % 6), condition: conditions[h % conditions.length] };
  });
}

const CAPABILITIES = ["weather_forecast", "task_list", "task_list.create_task"];

/**
 * Starts a sample provider. Options: port (0 = random), host, apiKey, apiKeyHeader, oauthClientId,
 * oauthClientSecret, customHeader, customSecret, tokenTtlSeconds, signingSecrets (whsec_...).
 * Resolves to a handle: url, requests (the log), tokensIssued, setFailure(), setWebhookResponses(),
 * setSigningSecrets(), reset(), close().
 */
async function createSampleProvider(options = {}) {
  const config = { ...DEFAULTS, ...options };
  const startedAt = Date.now();
  const state = {
    requests: [],
    webhooks: [],
    tokens: new Map(),
    tokensIssued: 0,
    failure: { mode: "none", delayMs: 0 },
    webhookResponses: [],
    signingSecrets: [...(config.signingSecrets ?? [])],
    tasks: new Map(),
    lastInvocationAt: null,
  };

  const json = (res, status, body, headers = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
    res.end(text);
  };

  /** Which configured mechanism the request authenticated with, or null. */
  function authOf(req) {
    const h = req.headers;
    if (h[config.apiKeyHeader.toLowerCase()] === config.apiKey) return "api_key";
    const bearer = /^Bearer (.+)$/.exec(h.authorization ?? "");
    if (bearer) {
      const expires = state.tokens.get(bearer[1]);
      if (expires && expires > Date.now()) return "oauth2";
    }
    if (h[config.customHeader.toLowerCase()] === `Token ${config.customSecret}`) return "custom";
    return null;
  }

  function tokenEndpoint(req, res, body) {
    let id;
    let secret;
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "");
    const form = new URLSearchParams(body);
    if (basic) {
      const decoded = Buffer.from(basic[1], "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      id = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, " "));
      secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, " "));
    } else {
      id = form.get("client_id");
      secret = form.get("client_secret");
    }
    if (form.get("grant_type") !== "client_credentials") return json(res, 400, { error: "unsupported_grant_type" });
    if (id !== config.oauthClientId || secret !== config.oauthClientSecret) {
      return json(res, 401, { error: "invalid_client" }, { "www-authenticate": 'Basic realm="sample"' });
    }
    const token = randomBytes(24).toString("base64url");
    state.tokens.set(token, Date.now() + config.tokenTtlSeconds * 1000);
    state.tokensIssued++;
    json(res, 200, { access_token: token, token_type: "Bearer", expires_in: config.tokenTtlSeconds });
  }

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

  function route(req, res, body, entry) {
    const url = new URL(req.url, "http://sample");
    const path = url.pathname;
    if (req.method === "POST" && path === "/oauth/token") return tokenEndpoint(req, res, body);
    if (req.method === "POST" && path === "/webhooks") {
      const signatureValid = verifySignature(state.signingSecrets, req.headers, body);
      let parsed = null;
      try {
        parsed = JSON.parse(body);
      } catch {
        /* recorded as null */
      }
      state.webhooks.push({ headers: { ...req.headers }, body, json: parsed, signatureValid, at: new Date().toISOString() });
      const status = state.webhookResponses.length > 1 ? state.webhookResponses.shift() : (state.webhookResponses[0] ?? 204);
      res.writeHead(status, { "content-length": 0 });
      return res.end();
    }

    entry.auth = authOf(req);
    entry.signatureValid = state.signingSecrets.length ? verifySignature(state.signingSecrets, req.headers, body) : null;
    if (!entry.auth) return json(res, 401, { error: { code: "UNAUTHENTICATED", message: "Missing or wrong credentials" } });

    if (req.method === "GET" && path === "/health") {
      return json(res, 200, {
        status: "ok",
        version: "1.0.0",
        uptimeSeconds: Math.floor((Date.now() - startedAt) / 1000),
        capabilities: CAPABILITIES,
        lastInvocationAt: state.lastInvocationAt,
      });
    }
    let input;
    try {
      input = body ? JSON.parse(body) : {};
    } catch {
      return json(res, 400, { error: { code: "INVALID_JSON", message: "Body is not JSON" } });
    }
    const userId = input.user?.id ?? "anonymous";
    if (req.method === "POST" && path === "/capabilities/weather_forecast/invoke") {
      state.lastInvocationAt = new Date().toISOString();
      const location = String(input.parameters?.location ?? "Berlin");
      const days = Math.min(7, Math.max(1, Number(input.parameters?.days ?? 3) || 3));
      return json(res, 200, { data: { location, days: forecast(location, days) }, ttlSeconds: 1800 });
    }
    if (req.method === "POST" && path === "/capabilities/task_list/invoke") {
      state.lastInvocationAt = new Date().toISOString();
      return json(res, 200, { data: { tasks: state.tasks.get(userId) ?? [] }, ttlSeconds: 60 });
    }
    if (req.method === "POST" && path === "/capabilities/task_list/actions/create_task") {
      state.lastInvocationAt = new Date().toISOString();
      const title = typeof input.input?.title === "string" ? input.input.title.trim() : "";
      if (!title) return json(res, 422, { error: { code: "VALIDATION_ERROR", message: "input.title is required" } });
      const task = { id: `task_${randomBytes(6).toString("hex")}`, title, done: false, createdAt: new Date().toISOString() };
      state.tasks.set(userId, [...(state.tasks.get(userId) ?? []), task]);
      return json(res, 201, { result: { task } });
    }
    json(res, 404, { error: { code: "NOT_FOUND", message: `No handler for ${req.method} ${path}` } });
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const path = new URL(req.url, "http://sample").pathname;
      const entry = { method: req.method, path, headers: { ...req.headers }, body, auth: null, signatureValid: null, at: new Date().toISOString() };
      if (path !== "/webhooks") state.requests.push(entry);
      try {
        if (path !== "/oauth/token" && path !== "/webhooks" && (await applyFailure(res))) return;
        route(req, res, body, entry);
      } catch (error) {
        if (!res.headersSent) json(res, 500, { error: { code: "INTERNAL", message: String(error) } });
      }
    });
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

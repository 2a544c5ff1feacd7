// Serves one API surface from the compiled functions (lib/) in a process of its own: a stand-in
// for one more function instance, used to check that the rate limit holds across instances (tests)
// and to measure the limiter against the same surface with limits off (npm run bench).
// Env: SURFACE (default runtime), LIMITS=off to run without the rate-limit hook, FIXED_NOW (ISO) to
// stop the limiter's clock. Tells the parent
// its port over IPC: {port}.
"use strict";
const { createSurfaceApp } = require("../../lib/kernel/http/surface");
const { RateLimiter, rateLimitHook } = require("../../lib/kernel/http/rateLimit");
const { fixedClock, systemClock } = require("../../lib/kernel/clock");
const { buildSurfaces } = require("../../lib/api");
const { issueAccessToken, signingKeys } = require("../../lib/kernel/auth/accessTokens");
const express = require("express");
const { performance } = require("node:perf_hooks");

const BENCH_APP = { id: "app_bench", accountId: "acc_bench", clientId: "client_bench" };

const surface = buildSurfaces()[process.env.SURFACE || "runtime"];
// FIXED_NOW pins the limiter's clock, so a test's requests all count in one window however long they take.
const clock = process.env.FIXED_NOW ? fixedClock(process.env.FIXED_NOW) : systemClock;
const hooks = process.env.LIMITS === "off" ? [] : [rateLimitHook(new RateLimiter(clock), clock)];
// Bodies are parsed before the surface runs, as the Cloud Functions framework does (rawBody included).
const keepRaw = (req, _res, buf) => {
  req.rawBody = buf;
};
const app = express();
app.use(express.json({ limit: "10mb", verify: keepRaw }), express.urlencoded({ extended: true, verify: keepRaw }));
// The token benchmark's ceiling: the same HTTP stack (Express, the form parser) answering with a
// signed token and doing nothing else (no Firestore, no rate limit). Only in this helper process.
app.post("/__bench/sign", async (req, res) => {
  const keys = await signingKeys();
  const { token, expiresIn } = await issueAccessToken(BENCH_APP, systemClock, keys);
  res.json({ access_token: token, token_type: "Bearer", expires_in: expiresIn, client: String(req.body.client_id) });
});
app.use(createSurfaceApp(surface, { hooks }));
const server = app.listen(0, "127.0.0.1", () => {
  process.send({ port: server.address().port });
});
process.on("disconnect", () => server.close(() => process.exit(0)));
// The token benchmark's baseline, in this same process: `count` bare RS256 signatures (jose) with the
// signing key the token endpoint uses. Answers {signLoop: {count, ms}}.
process.on("message", async (m) => {
  if (!m || typeof m.signLoop !== "number") return;
  const keys = await signingKeys();
  const started = performance.now();
  for (let i = 0; i < m.signLoop; i++) await issueAccessToken(BENCH_APP, systemClock, keys);
  process.send({ signLoop: { count: m.signLoop, ms: performance.now() - started } });
});

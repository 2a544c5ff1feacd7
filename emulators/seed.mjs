// Demo data for `npm start`: a verified provider account, an app and a published package, created
// through the API itself. Prints the base URL and the demo credentials, then
// keeps the emulators up until Ctrl-C.
import { createRequire } from "node:module";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "functions/package.json"));
const { initializeApp } = require("firebase-admin/app");
const { getFirestore } = require("firebase-admin/firestore");
const { getAuth } = require("firebase-admin/auth");

const config = JSON.parse(readFileSync(process.env.AIFFINITY_FIREBASE_CONFIG ?? join(root, "firebase.json"), "utf8"));
const { host, port } = config.emulators.hosting;
const BASE = `http://${host}:${port}`;
const PROJECT = process.env.GCLOUD_PROJECT ?? "demo-aiffinity";
const adminApp = initializeApp({ projectId: PROJECT });
const db = getFirestore(adminApp);

const DEMO = { company_name: "Aiffinity Demo Provider", email: "demo@aiffinity.dev", password: "sunny-forecast-42" };
const REVIEWER = { email: "reviewer@aiffinity.dev", password: "careful-review-42" };

async function call(method, path, body, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`);
  return json.data;
}

async function main() {
  const account = await call("POST", "/v1/providers/account", DEMO);
  const mail = await db.collection("mail").where("to", "==", DEMO.email).get();
  const token = /(vt_[0-9A-Za-z]+)/.exec(mail.docs[0].get("message.text"))[1];
  await call("POST", "/v1/providers/account/verify", { token });
  const login = await call("POST", "/v1/providers/account/login", { email: DEMO.email, password: DEMO.password });
  const app = await call("POST", "/v1/providers/apps", { name: "Demo Weather", description: "Forecasts for your space" }, login.id_token);
  const pkg = await seedPublishedPackage(login.id_token, account.id, app.id);
  // A package reviewer: a Firebase user with the custom claim reviewer: true (log in like a provider).
  const reviewer = await getAuth(adminApp).createUser({ ...REVIEWER, emailVerified: true });
  await getAuth(adminApp).setCustomUserClaims(reviewer.uid, { reviewer: true });

  const line = "─".repeat(72);
  console.log(`\n${line}
 Aiffinity API running on the emulators
 Base URL        ${BASE}          (OpenAPI: ${BASE}/v1/openapi.json)
 Demo provider   ${DEMO.email} / ${DEMO.password}
 Demo app        ${app.id}
   client_id     ${app.client_id}
   client_secret ${app.client_secret}
 Demo package    ${pkg} (validated, submitted and listed in the catalog)
 Demo reviewer   ${REVIEWER.email} / ${REVIEWER.password}   (GET ${BASE}/v1/providers/packages/reviews)
 ID token        (valid 1 hour; or log in again with POST /v1/providers/account/login)
${login.id_token}
 Try:  curl -H "Authorization: Bearer <ID token>" ${BASE}/v1/providers/apps
 Mail outbox: Firestore collection 'mail' (Firestore emulator on ${config.emulators.firestore.host}:${config.emulators.firestore.port})
 Stop with Ctrl-C.
${line}\n`);
}

/**
 * The demo app's package, taken through the real pipeline: created with the packages API,
 * validated by the conformance runner (which probes the runtime), submitted, and listed
 * automatically by the policy checks (data_only).
 */
async function seedPublishedPackage(token, accountId, appId) {
  await registerDemoRuntime(accountId, appId, await startDemoRuntime());
  const pkg = await call("POST", "/v1/providers/packages/manage", {
    appId, name: "Demo Weather", slug: "demo-weather", riskTier: "data_only", category: "weather",
    description: "Hourly and daily forecasts for your location, refreshed every half hour.",
    images: { icon: "https://cdn.aiffinity.dev/demo/icon.png", screenshots: ["https://cdn.aiffinity.dev/demo/screenshot-1.png"] },
    supportUrl: "https://aiffinity.dev/support",
    capabilities: [{
      id: "weather_forecast", name: "Weather forecast", description: "Daily highs, lows and conditions.",
      inputSchema: { type: "object", properties: { location: { type: "string", minLength: 1 }, days: { type: "integer", minimum: 1, maximum: 7 } }, required: ["location"] },
      outputSchema: { type: "object", required: ["location", "days"], properties: { location: { type: "string" }, days: { type: "array", items: { type: "object" } } } },
      refreshIntervalSeconds: 1800, deadlineMs: 3000, sampleInput: { location: "Berlin", days: 3 }, dataCategories: ["public"],
    }],
  }, token);
  const path = `/v1/providers/packages/manage/${pkg.id}/versions/${pkg.versions[0].id}`;
  const run = await call("POST", `${path}/validate?wait=true`, undefined, token);
  if (run.status !== "passed") throw new Error(`Demo package failed validation: ${JSON.stringify(run.findings)}`);
  await call("POST", `${path}/submit`, undefined, token);
  for (let i = 0; i < 100; i++) {
    const version = await call("GET", path, undefined, token);
    if (version.state === "published") return pkg.id;
    if (version.state === "rejected") throw new Error(`Demo package was rejected: ${JSON.stringify(version.review)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("Demo package was not listed within 20 s");
}

/**
 * PROVISIONAL until the provider runtime (sample provider, POST /v1/providers/runtime/apps) is on
 * this branch: a minimal runtime answering the demo capability, in this process.
 */
function startDemoRuntime() {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/capabilities/weather_forecast/invoke") return res.writeHead(404).end();
      const params = JSON.parse(body || "{}").parameters ?? {};
      const days = Array.from({ length: Number(params.days ?? 3) }, (_, i) => ({ day: i, highC: 18 + i, lowC: 9 + i, condition: "sunny" }));
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ data: { location: String(params.location ?? "Berlin"), days } }));
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${server.address().port}`)));
}

/** PROVISIONAL: the runtime app document the provider runtime API will write. */
async function registerDemoRuntime(accountId, appId, endpointUrl) {
  const now = new Date();
  await db.collection("runtimeApps").doc("rt_demo").set({
    accountId, appId, displayName: "Demo Weather runtime", endpointUrl, status: "active", authProfile: { type: "api_key" }, createdAt: now, updatedAt: now,
  });
}

main()
  .then(() => {
    if (process.argv.includes("--hold")) setInterval(() => {}, 1 << 30);
  })
  .catch((error) => {
    console.error("Seeding the demo data failed:", error);
    process.exit(1);
  });

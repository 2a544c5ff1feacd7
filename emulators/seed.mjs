// Demo data for `npm start`, created through the API itself: a verified provider account, an app, the
// sample provider runtime (emulators/sample-provider), started here and registered as the demo app's
// runtime through the Provider Runtime API, a package taken through the whole pipeline (validated
// against that runtime, submitted, listed), a package reviewer and an end user who installed the
// package. Prints the base URL and the demo credentials, then (--hold) runs the scheduled functions
// on their schedules (local-scheduler.mjs) and keeps the emulators up until Ctrl-C.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { startLocalScheduler } from "./local-scheduler.mjs";
import { apiClient, publishPackage, signIn as signInAs, signUpProvider } from "./local-client.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "functions/package.json"));
const { createSampleProvider, DEFAULTS: SAMPLE } = require(join(root, "emulators/sample-provider/index.js"));
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
const END_USER = { email: "user@aiffinity.dev", password: "happy-space-42" };

const call = apiClient(BASE);

async function main() {
  const { login } = await signUpProvider(call, db, DEMO);
  const app = await call("POST", "/v1/providers/apps", { name: "Demo Weather", description: "Forecasts for your space" }, login.id_token);
  const runtime = await seedRuntime(app);
  const pkg = await seedPublishedPackage(login.id_token, app.id);
  // A package reviewer: a Firebase user with the custom claim reviewer: true (log in like a provider).
  const reviewer = await getAuth(adminApp).createUser({ ...REVIEWER, emailVerified: true });
  await getAuth(adminApp).setCustomUserClaims(reviewer.uid, { reviewer: true });
  // An end user of the Aiffinity apps (no developer account) who installed the demo package.
  await getAuth(adminApp).createUser({ ...END_USER, emailVerified: true });
  const userToken = await signIn(END_USER);
  await call("POST", `/v1/space/marketplace/${pkg}/install`, { parameters: { weather_forecast: { location: "Lisbon", days: 3 } } }, userToken);
  const scheduled = process.argv.includes("--hold") ? startLocalScheduler(root, PROJECT) : [];
  if (process.argv.includes("--hold")) printNewMail();

  const line = "─".repeat(72);
  console.log(`\n${line}
 Aiffinity API running on the emulators
 Base URL        ${BASE}          (OpenAPI: ${BASE}/v1/openapi.json)
 Console         ${BASE}/         (the developer console: sign in as the demo provider or the demo reviewer)
 Demo provider   ${DEMO.email} / ${DEMO.password}
 Demo app        ${app.id}
   client_id     ${app.client_id}
   client_secret ${app.client_secret}
 Demo package    ${pkg} (validated against the sample provider, submitted and listed in the catalog)
   capability    demo-weather.weather_forecast   (POST ${BASE}/v1/providers/capabilities/demo-weather.weather_forecast/invoke)
 Demo reviewer   ${REVIEWER.email} / ${REVIEWER.password}   (GET ${BASE}/v1/providers/packages/reviews)
 Demo end user   ${END_USER.email} / ${END_USER.password}   (installed the demo package; ID token below)
   curl -H "Authorization: Bearer <end user ID token>" ${BASE}/v1/space/marketplace?q=weather
   curl -H "Authorization: Bearer <end user ID token>" ${BASE}/v1/space/installs
 Sample provider ${runtime.provider.url}   (runtime app ${runtime.id}, api_key auth, webhooks to /webhooks)
   webhook secret ${runtime.secret}
 Access token    POST ${BASE}/v1/providers/auth/token with the client_id/client_secret above, then e.g.
                 curl -H "Authorization: Bearer <access_token>" ${BASE}/v1/providers/runtime/apps/${runtime.id}/health
 ID token        (valid 1 hour; or log in again with POST /v1/providers/account/login)
${login.id_token}
 Try:  curl -H "Authorization: Bearer <ID token>" ${BASE}/v1/providers/apps
 End user ID token (valid 1 hour)
${userToken}
 Scheduled functions run locally: ${scheduled.join(", ") || "none (no --hold)"}
 Mail outbox: Firestore collection 'mail' (Firestore emulator on ${config.emulators.firestore.host}:${config.emulators.firestore.port})
 Stop with Ctrl-C.
${line}\n`);
}

/**
 * Locally no e-mail leaves the machine: print each new message of the outbox (the `mail` collection)
 * here, so a provider who signs up on the local stack (`aiffinity signup`) sees its verification token.
 */
function printNewMail() {
  const since = new Date();
  db.collection("mail").where("createdAt", ">", since).onSnapshot((snapshot) => {
    for (const change of snapshot.docChanges()) {
      if (change.type !== "added") continue;
      const mail = change.doc.data();
      const token = /(vt_[0-9A-Za-z]+)/.exec(mail.message?.text ?? "")?.[1];
      console.log(`[mail] to ${mail.to}: ${mail.message?.subject ?? ""}${token ? `  (verification token ${token})` : ""}`);
    }
  }, (error) => console.error("[mail] watching the outbox failed:", error.message));
}

const signIn = ({ email, password }) => signInAs(config, email, password);

/**
 * Starts the sample provider runtime and configures it through the Provider Runtime API, as a
 * provider would: OAuth token, runtime app, auth profile, capability template, webhook profile.
 */
async function seedRuntime(app) {
  const port = Number(process.env.SAMPLE_PROVIDER_PORT ?? 8787 + Number(process.env.AIFFINITY_PORT_OFFSET ?? 0));
  const provider = await createSampleProvider({ port });
  const { json: { access_token: token } } = await call("POST", "/v1/providers/auth/token",
    { grant_type: "client_credentials", client_id: app.client_id, client_secret: app.client_secret }, undefined, { raw: true });
  const runtime = await call("POST", "/v1/providers/runtime/apps", { appId: app.id, endpointUrl: provider.url, displayName: "Demo Weather runtime" }, token);
  const base = `/v1/providers/runtime/apps/${runtime.id}`;
  await call("PUT", `${base}/auth-profile`, { type: "api_key", headerName: SAMPLE.apiKeyHeader, value: SAMPLE.apiKey }, token);
  await call("PUT", `${base}/capability-template`, {
    capabilities: [
      {
        name: "weather_forecast",
        description: "Daily forecast for a location",
        inputSchema: { type: "object", properties: { location: { type: "string" }, days: { type: "integer", minimum: 1, maximum: 7 } }, required: ["location"] },
        outputSchema: { type: "object", properties: { location: { type: "string" }, days: { type: "array" } }, required: ["location", "days"] },
        refreshIntervalSeconds: 1800,
        surfaceGuidance: { surfaces: ["widget", "chat"], summary: "The weather, day by day" },
      },
      {
        name: "task_list",
        description: "Your tasks",
        outputSchema: { type: "object", properties: { tasks: { type: "array" } }, required: ["tasks"] },
        refreshIntervalSeconds: 60,
        actions: [{ name: "create_task", description: "Add a task", inputSchema: { type: "object", properties: { title: { type: "string", minLength: 1 } }, required: ["title"] } }],
        surfaceGuidance: { surfaces: ["widget"] },
      },
    ],
  }, token);
  const profile = await call("PUT", `${base}/webhook-profile`, { url: `${provider.url}/webhooks`, events: ["*"] }, token);
  provider.setSigningSecrets([profile.signingSecret]);
  const health = await call("GET", `${base}/health`, undefined, token);
  if (health.status !== "healthy") throw new Error(`The sample provider is not healthy: ${JSON.stringify(health)}`);
  return { id: runtime.id, provider, secret: profile.signingSecret };
}

/**
 * The demo app's package, taken through the real pipeline: created with the packages API,
 * validated by the conformance runner (which probes the runtime), submitted, and listed
 * automatically by the policy checks (data_only).
 */
async function seedPublishedPackage(token, appId) {
  const pkg = await publishPackage(call, token, {
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
  }, { waitMs: 20_000 });
  return pkg.id;
}

main()
  .then(() => {
    if (process.argv.includes("--hold")) setInterval(() => {}, 1 << 30);
  })
  .catch((error) => {
    console.error("Seeding the demo data failed:", error);
    process.exit(1);
  });

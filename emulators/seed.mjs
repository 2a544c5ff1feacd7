// Demo data for `npm start`: a verified provider account, an app and a published package, created
// through the API itself where the API exists. Prints the base URL and the demo credentials, then
// keeps the emulators up until Ctrl-C.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "functions/package.json"));
const { initializeApp } = require("firebase-admin/app");
const { getFirestore } = require("firebase-admin/firestore");

const config = JSON.parse(readFileSync(process.env.AIFFINITY_FIREBASE_CONFIG ?? join(root, "firebase.json"), "utf8"));
const { host, port } = config.emulators.hosting;
const BASE = `http://${host}:${port}`;
const PROJECT = process.env.GCLOUD_PROJECT ?? "demo-aiffinity";
const db = getFirestore(initializeApp({ projectId: PROJECT }));

const DEMO = { company_name: "Aiffinity Demo Provider", email: "demo@aiffinity.dev", password: "sunny-forecast-42" };

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
  const pkg = await seedPublishedPackage(account.id, app.id);

  const line = "─".repeat(72);
  console.log(`\n${line}
 Aiffinity API running on the emulators
 Base URL        ${BASE}          (OpenAPI: ${BASE}/v1/openapi.json)
 Demo provider   ${DEMO.email} / ${DEMO.password}
 Demo app        ${app.id}
   client_id     ${app.client_id}
   client_secret ${app.client_secret}
 Demo package    ${pkg} (published, in the catalog)
 ID token        (valid 1 hour; or log in again with POST /v1/providers/account/login)
${login.id_token}
 Try:  curl -H "Authorization: Bearer <ID token>" ${BASE}/v1/providers/apps
 Mail outbox: Firestore collection 'mail' (Firestore emulator on ${config.emulators.firestore.host}:${config.emulators.firestore.port})
 Stop with Ctrl-C.
${line}\n`);
}

/** The packages API arrives with its own milestone; until then the listing is written directly. */
async function seedPublishedPackage(accountId, appId) {
  const id = "pkg_demo_weather";
  const now = new Date();
  await db.collection("packages").doc(id).set({
    accountId, appId, name: "Demo Weather", slug: "demo-weather", description: "Hourly forecast for your location.",
    riskTier: "data_only", status: "published", orphanedAt: null, catalogRemovalDueAt: null, createdAt: now, updatedAt: now,
  });
  await db.collection("catalogListings").doc(id).set({
    packageId: id, name: "Demo Weather", slug: "demo-weather", description: "Hourly forecast for your location.",
    providerName: DEMO.company_name, riskTier: "data_only", currentVersion: "1.0.0", installCount: 0, orphaned: false, installable: true,
    publishedAt: now, updatedAt: now,
  });
  return id;
}

main()
  .then(() => {
    if (process.argv.includes("--hold")) setInterval(() => {}, 1 << 30);
  })
  .catch((error) => {
    console.error("Seeding the demo data failed:", error);
    process.exit(1);
  });

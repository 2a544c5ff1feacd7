import { assertFails, initializeTestEnvironment, type RulesTestEnvironment } from "@firebase/rules-unit-testing";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { collection, deleteDoc, doc, getDoc, getDocs, setDoc, setLogLevel, updateDoc } from "firebase/firestore";

// Denied writes are the expected outcome here; the SDK would log each one as a warning.
setLogLevel("error");

/** Collections the platform writes; clients must reach none of them, signed in or not. */
const COLLECTIONS = [
  "accounts",
  "apps",
  "verificationTokens",
  "mail",
  "throttles",
  "packages",
  "packageSlugs",
  "reviews",
  "processedEvents",
  "catalogListings",
  "installs",
  "runtimeApps",
  "invocations",
  "webhookDeliveries",
  "providerEvents",
  "rateLimits",
  "capabilityBindings",
  "capabilityStates",
  "capabilityEvents",
  "idempotencyKeys",
  "resourceLocks",
  "sandboxScenarios",
  "sandboxTraces",
  "qualityRollupShards",
  "qualityRollups",
  "qualityMonitors",
  "qualityAlerts",
  "qualityCertifications",
  "catalogCounterShards",
  "ratings",
];

let env: RulesTestEnvironment;

beforeAll(async () => {
  const [host, port] = process.env.FIRESTORE_EMULATOR_HOST!.split(":");
  env = await initializeTestEnvironment({
    // A separate project id: these tests never touch the API's data.
    projectId: "demo-aiffinity-rules",
    firestore: { host: host!, port: Number(port), rules: readFileSync(join(__dirname, "../../../firestore.rules"), "utf8") },
  });
  await env.withSecurityRulesDisabled(async (ctx) => {
    for (const name of COLLECTIONS) await setDoc(doc(ctx.firestore(), name, "alice"), { owner: "alice", secret: "x" });
  });
});

afterAll(async () => {
  await env.clearFirestore();
  await env.cleanup();
});

describe("firestore.rules", () => {
  const clients = () => ({
    anonymous: env.unauthenticatedContext().firestore(),
    alice: env.authenticatedContext("alice", { email: "alice@example.com", email_verified: true }).firestore(),
    reviewer: env.authenticatedContext("rev", { reviewer: true }).firestore(),
  });

  it.each(COLLECTIONS)("denies every client any access to %s", async (name) => {
    for (const db of Object.values(clients())) {
      await assertFails(getDoc(doc(db, name, "alice")));
      await assertFails(getDocs(collection(db, name)));
      await assertFails(setDoc(doc(db, name, "new"), { owner: "alice" }));
      await assertFails(updateDoc(doc(db, name, "alice"), { owner: "mallory" }));
      await assertFails(deleteDoc(doc(db, name, "alice")));
    }
  });

  it("denies access to nested and unknown paths too", async () => {
    const { alice } = clients();
    await assertFails(getDoc(doc(alice, "packages/alice/versions/v1")));
    await assertFails(getDoc(doc(alice, "packages/alice/versions/v1/validationRuns/r1")));
    await assertFails(getDocs(collection(alice, "packages/alice/transitions")));
    await assertFails(getDocs(collection(alice, "qualityCertifications/alice/changes")));
    await assertFails(setDoc(doc(alice, "anything/else/deeply/nested"), { x: 1 }));
  });
});

import { readFileSync } from "node:fs";
import { join } from "node:path";

// npm test may run the suite on shifted ports (AIFFINITY_PORT_OFFSET); it says which config it used.
const configPath = process.env.AIFFINITY_FIREBASE_CONFIG ?? join(__dirname, "../../../firebase.json");
const firebaseJson = JSON.parse(readFileSync(configPath, "utf8"));
const emulator = (name: string) => firebaseJson.emulators[name] as { host: string; port: number };

export const PROJECT_ID = process.env.GCLOUD_PROJECT ?? "demo-aiffinity";
/** The production paths, served through Hosting's rewrites (the serving pool's router, or the Hosting emulator). */
export const BASE_URL = process.env.API_BASE_URL ?? `http://${emulator("hosting").host}:${emulator("hosting").port}`;
/**
 * A function's direct URL (what streaming clients use in production): on the serving pool's router
 * (AIFFINITY_FUNCTIONS_URL, set by emulators/serving), else on the functions emulator.
 */
const FUNCTIONS_ORIGIN = process.env.AIFFINITY_FUNCTIONS_URL ?? `http://${emulator("functions").host}:${emulator("functions").port}`;
export const functionUrl = (name: string) => `${FUNCTIONS_ORIGIN}/${PROJECT_ID}/us-central1/${name}`;
export const AUTH_EMULATOR = `http://${process.env.FIREBASE_AUTH_EMULATOR_HOST ?? "127.0.0.1:9099"}`;

import type { FirebaseOptions } from "firebase/app";

/**
 * Where the console finds its Firebase web configuration. In production Firebase Hosting serves it
 * at the reserved URL /__/firebase/init.json. Locally `npm start` and `npm test` write
 * /console-emulators.json next to the built files (the Auth emulator's address moves with the port
 * offset), and only a console opened on a loopback address reads it.
 */
export interface ConsoleConfig {
  firebase: FirebaseOptions;
  /** The Auth emulator's URL (local runs only). */
  authEmulatorUrl: string | null;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

async function json(url: string): Promise<Record<string, unknown> | null> {
  const response = await fetch(url, { cache: "no-store", headers: { accept: "application/json" } });
  if (!response.ok || !(response.headers.get("content-type") ?? "").includes("json")) return null;
  return (await response.json()) as Record<string, unknown>;
}

export async function loadConfig(): Promise<ConsoleConfig> {
  if (LOOPBACK.has(window.location.hostname)) {
    const local = await json("/console-emulators.json");
    if (local) return { firebase: local.firebase as FirebaseOptions, authEmulatorUrl: String(local.authEmulatorUrl) };
  }
  const hosted = await json("/__/firebase/init.json");
  if (!hosted) throw new Error("The console could not load its Firebase configuration (/__/firebase/init.json).");
  return { firebase: hosted as FirebaseOptions, authEmulatorUrl: null };
}

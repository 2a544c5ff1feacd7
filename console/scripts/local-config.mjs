#!/usr/bin/env node
// Writes dist/console-emulators.json for a console served by the local emulators: the Firebase web
// configuration of the demo project and the Auth emulator's address (which moves with
// AIFFINITY_PORT_OFFSET). Only a console opened on a loopback address reads it (src/config.ts);
// a deploy rebuilds dist/ without it.
//
//   node console/scripts/local-config.mjs <firebase.json in use> <project id>
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const consoleDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const [configPath, project] = process.argv.slice(2);
const { emulators } = JSON.parse(readFileSync(configPath, "utf8"));
const env = readFileSync(join(consoleDir, `../functions/.env.${project}`), "utf8");
const apiKey = /^WEB_API_KEY=(.*)$/m.exec(env)?.[1]?.trim() ?? "demo-api-key";
const local = {
  firebase: { apiKey, projectId: project, authDomain: `${emulators.auth.host}` },
  authEmulatorUrl: `http://${emulators.auth.host}:${emulators.auth.port}`,
};
writeFileSync(join(consoleDir, "dist/console-emulators.json"), `${JSON.stringify(local, null, 2)}\n`);

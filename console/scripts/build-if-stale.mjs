#!/usr/bin/env node
// Builds the console when dist/ is missing or stale: a hash of everything the build reads (the
// console's sources and config, the SDK's built files, the static files of hosting/public, the
// lockfile) is kept in dist/.build-hash (Hosting ignores dot files), and the build runs only when
// it changed. `--force` always builds.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const consoleDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const root = join(consoleDir, "..");
const inputs = [
  "console/src",
  "console/index.html",
  "console/vite.config.ts",
  "console/tsconfig.json",
  "console/package.json",
  "sdk/dist/esm",
  "sdk/package.json",
  "hosting/public",
  "package-lock.json",
];

function files(path) {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => files(join(path, name)));
}

const hash = createHash("sha256");
for (const input of inputs) {
  for (const file of files(join(root, input))) {
    hash.update(relative(root, file)).update("\0").update(readFileSync(file)).update("\0");
  }
}
const digest = hash.digest("hex");
const stamp = join(consoleDir, "dist/.build-hash");
const current = existsSync(stamp) ? readFileSync(stamp, "utf8").trim() : null;
if (!process.argv.includes("--force") && current === digest && existsSync(join(consoleDir, "dist/index.html"))) {
  console.log("console: up to date (dist/)");
  process.exit(0);
}
console.log(current ? "console: sources changed, building" : "console: no build yet, building");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
execFileSync(npm, ["run", "--silent", "build"], { cwd: consoleDir, stdio: "inherit" });
writeFileSync(stamp, `${digest}\n`);

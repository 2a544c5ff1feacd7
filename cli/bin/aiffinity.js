#!/usr/bin/env node
// The aiffinity command. The CLI itself is compiled to dist/ (`npm run build`; in this repository
// `npm start` and `npm test` build it), so a checkout installed with `npm install -g ./cli` says so
// plainly instead of failing on a missing module.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const entry = new URL("../dist/main.js", import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write(
    "error: this copy of the aiffinity CLI is not built. In the repository, run `npm start` or `npm test` once\n" +
      "(or `npm install && npm run build:tooling` at its root), then run aiffinity again.\n",
  );
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv);

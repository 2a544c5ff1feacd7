// Build step: writes the manifest's JSON Schema (published with the package, and served by Hosting).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { manifestJsonSchema } from "./manifest/schema.js";

for (const out of process.argv.slice(2)) {
  // The output folder (cli/schema/) is a build output, absent from a fresh clone.
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`);
}

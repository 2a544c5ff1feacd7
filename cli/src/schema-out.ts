// Build step: writes the manifest's JSON Schema (published with the package, and served by Hosting).
import { writeFileSync } from "node:fs";
import { manifestJsonSchema } from "./manifest/schema.js";

for (const out of process.argv.slice(2)) writeFileSync(out, `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`);

#!/usr/bin/env node
// Writes the OpenAPI document of the built functions (npm run build first) to the given path, or stdout.
const { writeFileSync } = require("node:fs");
const { openApiDocument } = require("../lib/openapi");

const [out, serverUrl] = process.argv.slice(2);
const json = `${JSON.stringify(openApiDocument(serverUrl), null, 2)}\n`;
if (out) writeFileSync(out, json);
else process.stdout.write(json);

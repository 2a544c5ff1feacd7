import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AiffinityError } from "@aiffinity/sdk";
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { stringify } from "yaml";
import { derive, descriptorsOf, manifestPathOf, normalizedTemplate, same, sameAuthProfile, templateOf } from "../../src/manifest/derive";
import { loadManifest, ManifestProblems, parsePath } from "../../src/manifest/load";
import { manifestJsonSchema } from "../../src/manifest/schema";
import { asManifestProblems, FIELD_MAPS } from "../../src/publishing";

/**
 * The manifest's pure logic: its JSON Schema (published, and committed where Hosting serves it),
 * JSON and YAML files with every value's line, the template and descriptors derived from one
 * capability entry, and API paths mapped back to the manifest.
 */

const REPO = join(__dirname, "../../..");
const dir = mkdtempSync(join(tmpdir(), "aiffinity-manifest-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The template's manifest with its placeholders filled in, as `aiffinity init` writes it. */
function starter(): Record<string, any> {
  const text = readFileSync(join(REPO, "provider-sdk/template/aiffinity.json"), "utf8").replace(/__PACKAGE_SLUG__/g, "acme-weather").replace(/__PACKAGE_NAME__/g, "Acme Weather").replace(/__RUNTIME_PORT__/g, "8787");
  return JSON.parse(text);
}

const env = { RUNTIME_API_KEY: "key-0123456789abcdefghij", AIFFINITY_SIGNING_SECRET: `whsec_${Buffer.alloc(32, 1).toString("base64")}` };
function write(name: string, text: string, withEnv = true) {
  const sub = mkdtempSync(join(dir, "m-"));
  writeFileSync(join(sub, name), text);
  if (withEnv) writeFileSync(join(sub, ".env"), Object.entries(env).map(([k, v]) => `${k}=${v}`).join("\n"));
  return join(sub, name);
}
const problemsOf = (fn: () => unknown): ManifestProblems => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ManifestProblems) return error;
    throw error;
  }
  throw new Error("No problems reported");
};

describe("the manifest's JSON Schema", () => {
  const schema = manifestJsonSchema();
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const validate = ajv.compile(schema);

  it("is the one published with the CLI and served by Hosting", () => {
    const built = JSON.parse(readFileSync(join(REPO, "cli/schema/aiffinity.schema.json"), "utf8"));
    const served = JSON.parse(readFileSync(join(REPO, "hosting/public/schemas/aiffinity.schema.json"), "utf8"));
    expect(built).toEqual(schema);
    // Regenerate it with: npm run build -w cli && cp cli/schema/aiffinity.schema.json hosting/public/schemas/
    expect(served).toEqual(schema);
  });

  it("accepts the starter's and the sample provider's manifests, and refuses what the CLI refuses", () => {
    expect(validate(starter())).toBe(true);
    expect(validate(JSON.parse(readFileSync(join(REPO, "emulators/sample-provider/aiffinity.json"), "utf8")))).toBe(true);
    const broken = starter();
    broken.capabilities[0].refreshIntervalSeconds = 10;
    broken.runtime.auth.value = "a-secret-in-the-file";
    expect(validate(broken)).toBe(false);
    expect(validate.errors!.map((e) => e.instancePath)).toEqual(expect.arrayContaining(["/capabilities/0/refreshIntervalSeconds", "/runtime/auth/value"]));
  });
});

describe("loading a manifest", () => {
  it("reads JSON and YAML alike, and knows the line of every value", () => {
    const json = loadManifest(write("aiffinity.json", `${JSON.stringify(starter(), null, 2)}\n`));
    const yamlText = stringify(starter());
    const yaml = loadManifest(write("aiffinity.yaml", yamlText));
    expect(yaml.manifest).toEqual(json.manifest);
    const lineOf = (text: string, needle: string) => text.split("\n").findIndex((l) => l.includes(needle)) + 1;
    const jsonText = readFileSync(json.file, "utf8");
    expect(json.locate(["capabilities", 0, "sampleInput"])!.line).toBe(lineOf(jsonText, '"sampleInput"'));
    expect(yaml.locate(["capabilities", 0, "sampleInput"])!.line).toBe(lineOf(yamlText, "sampleInput:"));
    expect(yaml.locate(["package", "riskTier"])!.line).toBe(lineOf(yamlText, "riskTier:"));
    // A path that is not in the file (a default) points at its nearest ancestor that is.
    expect(json.locate(["capabilities", 0, "actions", 0, "id"])!.line).toBe(lineOf(jsonText, '"capabilities"') + 1);
    expect(json.env.RUNTIME_API_KEY).toBe(env.RUNTIME_API_KEY);
  });

  it("reports syntax errors, schema problems and missing secrets at their lines", () => {
    expect(problemsOf(() => loadManifest(write("aiffinity.json", '{\n  "package": {\n    "slug": "x",\n  }\n}\n'))).problems[0]).toEqual(
      expect.objectContaining({ message: expect.stringMatching(/^Not valid JSON/), position: expect.objectContaining({ line: 4 }) }),
    );
    expect(problemsOf(() => loadManifest(write("aiffinity.yaml", "package:\n  slug: [unclosed\n"))).problems[0]!.message).toMatch(/^Not valid YAML/);

    const m = starter();
    m.capabilities.push({ ...m.capabilities[0] });
    m.capabilities[1].actions = [{ id: "Bad Id", name: "x", description: "x", inputSchema: {} }];
    const file = write("aiffinity.json", `${JSON.stringify(m, null, 2)}\n`);
    const problems = problemsOf(() => loadManifest(file)).problems;
    expect(problems.map((p) => p.path).sort()).toEqual(["$.capabilities[1].actions[0].id", "$.capabilities[1].id"]);
    expect(problems.every((p) => p.position !== null)).toBe(true);

    const noEnv = loadManifest(write("aiffinity.json", `${JSON.stringify(starter(), null, 2)}\n`, false));
    const missing = problemsOf(() => derive({ ...noEnv, env: {} })).problems;
    expect(missing.map((p) => p.path).sort()).toEqual(["$.runtime.auth.value", "$.runtime.signingSecret"]);
    expect(missing[0]!.message).toMatch(/Environment variable (RUNTIME_API_KEY|AIFFINITY_SIGNING_SECRET) is not set/);
  });
});

describe("one capability entry, two API objects", () => {
  it("derives the runtime's capability template and the version's descriptor from it", () => {
    const m = loadManifest(write("aiffinity.json", `${JSON.stringify(starter(), null, 2)}\n`)).manifest;
    const [descriptor] = descriptorsOf(m);
    const [template] = templateOf(m).capabilities;
    expect(descriptor).toEqual(expect.objectContaining({ id: "weather_forecast", name: "Weather forecast", deadlineMs: 3000, dataCategories: ["public"], actions: [], scopes: [] }));
    expect(template).toEqual(expect.objectContaining({ name: "weather_forecast", refreshIntervalSeconds: 1800, surfaceGuidance: { surfaces: ["widget", "chat"], summary: "The weather, day by day" } }));
    expect(template!.inputSchema).toBe(descriptor!.inputSchema);
    expect(template!.outputSchema).toBe(descriptor!.outputSchema);
    // Compared as the API answers them, defaults filled in.
    expect(same(normalizedTemplate(templateOf(m))[0], { ...template, actions: [], surfaceGuidance: { surfaces: ["widget", "chat"], summary: "The weather, day by day", priority: "normal", notes: null } })).toBe(true);
  });

  it("compares secrets by the hint the API shows", () => {
    const wanted = { type: "api_key" as const, headerName: "x-api-key", value: "key-0123456789abcdefghij" };
    expect(sameAuthProfile({ type: "api_key", headerName: "x-api-key", value: "****ghij" }, wanted)).toBe(true);
    expect(sameAuthProfile({ type: "api_key", headerName: "x-api-key", value: "****zzzz" }, wanted)).toBe(false);
    expect(sameAuthProfile(null, wanted)).toBe(false);
  });
});

describe("where the API's paths are in the manifest", () => {
  it("maps conformance findings", () => {
    const cases: [string, string][] = [
      ["$.version.capabilities[0].inputSchema.properties.city.type", "capabilities,0,inputSchema,properties,city,type"],
      ["$.version.capabilities[1].actions[0].scopes", "capabilities,1,actions,0,scopes"],
      ["$.version.riskTier", "package,riskTier"],
      ["$.package.images.screenshots", "package,images,screenshots"],
      ["$.runtime.authProfile", "runtime,auth"],
      ["$.runtime.endpointUrl", "runtime,endpointUrl"],
      ["$.runtime", "runtime"],
      ["$.package['odd key']", "package,odd key"],
    ];
    for (const [api, manifest] of cases) expect(manifestPathOf(parsePath(api)).join(",")).toBe(manifest);
  });

  it("maps the fields of a refused request, down to a JSON Schema's keyword", () => {
    const loaded = loadManifest(write("aiffinity.json", `${JSON.stringify(starter(), null, 2)}\n`));
    const refused = new AiffinityError({
      status: 400,
      code: "VALIDATION_ERROR",
      message: "…",
      details: [
        { field: "capabilities.0.name", message: "Duplicate name 'weather_forecast'" },
        { field: "capabilities.0.outputSchema", message: "Not a valid JSON Schema (draft 2020-12): /properties/days/items must be object,boolean" },
      ],
    });
    const problems = (asManifestProblems(refused, loaded, FIELD_MAPS.template!) as ManifestProblems).problems;
    expect(problems.map((p) => p.path)).toEqual(["$.capabilities[0].id", "$.capabilities[0].outputSchema.properties.days.items"]);
    expect(problems.every((p) => p.position)).toBe(true);
    const other = new AiffinityError({ status: 404, code: "NOT_FOUND", message: "no" });
    expect(asManifestProblems(other, loaded, FIELD_MAPS.template!)).toBe(other);
  });
});

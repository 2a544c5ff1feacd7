import { capabilityPath, publishedWeather } from "../helpers/capabilities";
import { weatherForecast } from "../helpers/descriptors";
import { api, expectError, expectStatus } from "../helpers/http";
import { createPackage, packageProvider, useSampleProvider, validate } from "../helpers/packages";

const sample = useSampleProvider();
const CAP = "$.version.capabilities[0]";

/** A pattern that backtracks catastrophically on a backtracking engine (each extra `a` doubles the time). */
const EVIL = "^(a|a)*$";

/**
 * Providers' JSON Schemas are untrusted code (docs/packages.md#json-schema-limits): patterns run on
 * RE2 (linear time), patterns RE2 cannot run are refused with their JSON path, and schemas are
 * bounded in size and depth.
 */
describe("untrusted JSON Schemas", () => {
  it("accepts a catastrophic-backtracking pattern and validates 10,000 characters against it", async () => {
    const base = weatherForecast();
    const inputSchema = {
      ...base.inputSchema,
      // "Berlin" (the sample input) matches the second branch; a run of a's the first.
      properties: { ...base.inputSchema.properties, location: { type: "string", minLength: 1, pattern: `${EVIL}|^[A-Z][a-z]+$` } },
    };
    const outputSchema = {
      ...base.outputSchema,
      properties: { ...base.outputSchema.properties, location: { type: "string", pattern: `${EVIL}|^[A-Z][a-z]+$` } },
    };
    const w = await publishedWeather(sample(), { inputSchema, outputSchema });
    const invoke = (location: string) =>
      api.post(capabilityPath(w.ref, "invoke"), { user: { id: "usr_regex" }, parameters: { location } }, { token: w.access });

    // On a backtracking engine these would block the instance for longer than the test's timeout.
    expectStatus(200, await invoke("a".repeat(10_000)));
    const refused = expectError(await invoke(`${"a".repeat(10_000)}!`), 400, "VALIDATION_ERROR");
    expect(refused.message).toMatch(/location/);
    expectStatus(200, await invoke("Berlin"));
  }, 180_000);

  it("refuses patterns RE2 cannot run (backreferences, lookaround) with a finding naming the JSON path", async () => {
    const dev = await packageProvider(sample(), "Regex Fans Ltd");
    const base = weatherForecast();
    const outputSchema = { ...base.outputSchema, properties: { ...base.outputSchema.properties, x: { type: "string", pattern: "^(a)\\1$" } } };
    const inputSchema = { ...base.inputSchema, properties: { ...base.inputSchema.properties, location: { type: "string", pattern: "(?=B)B\\w+" } } };
    const { id, versionId } = await createPackage(dev.token, dev.app.id, { capabilities: [weatherForecast({ outputSchema, inputSchema })] });
    const run = await validate(dev.token, id, versionId);
    expect(run.passed).toBe(false);
    const findings = run.findings as { ruleId: string; path: string; message: string }[];
    expect(findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          ruleId: "schema.invalid_output_schema",
          path: `${CAP}.outputSchema.properties.x.pattern`,
          message: expect.stringMatching(/RE2/),
        }),
        expect.objectContaining({
          ruleId: "schema.invalid_input_schema",
          path: `${CAP}.inputSchema.properties.location.pattern`,
          message: expect.stringMatching(/RE2/),
        }),
      ]),
    );
  }, 120_000);

  it("refuses schemas that are too large or nest too deep", async () => {
    const dev = await packageProvider(sample(), "Huge Schemas Ltd");
    // Deeper than a schema may nest (20), within what a request body may (32): the finding's case.
    let deep: Record<string, unknown> = { type: "string" };
    for (let i = 0; i < 22; i++) deep = { type: "array", items: deep };
    const base = weatherForecast();
    const huge = { ...base.outputSchema, description: "x".repeat(70 * 1024) };
    const inputSchema = { ...base.inputSchema, properties: { ...base.inputSchema.properties, nested: deep } };
    const { id, versionId } = await createPackage(dev.token, dev.app.id, { capabilities: [weatherForecast({ outputSchema: huge, inputSchema })] });
    const run = await validate(dev.token, id, versionId);
    expect(run.passed).toBe(false);
    const findings = run.findings as { ruleId: string; path: string; message: string }[];
    expect(findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          ruleId: "schema.invalid_output_schema",
          path: `${CAP}.outputSchema`,
          message: expect.stringMatching(/larger than 65536 bytes/),
        }),
        expect.objectContaining({ ruleId: "schema.invalid_input_schema", message: expect.stringMatching(/deeper than 20 levels/) }),
      ]),
    );
  }, 120_000);

  it("refuses a capability template whose pattern RE2 cannot run, naming the pattern", async () => {
    const dev = await packageProvider(sample(), "Template Regex Ltd");
    const template = {
      capabilities: [
        {
          name: "weather_forecast",
          outputSchema: { type: "object", properties: { x: { type: "string", pattern: "(a)\\1" } } },
          refreshIntervalSeconds: 1800,
        },
      ],
    };
    const res = await api.put(`/v1/providers/runtime/apps/${dev.runtime!.runtimeAppId}/capability-template`, template, {
      token: dev.runtime!.access,
    });
    expect(expectError(res, 400, "VALIDATION_ERROR").message).toMatch(/\/properties\/x\/pattern .*RE2/);
  }, 60_000);
});

import { appendPointer, compileJsonSchema, firstError, SCHEMA_LIMITS } from "../../src/kernel/jsonSchema";

describe("provider JSON Schemas run on a linear-time engine", () => {
  it("matches a pattern that backtracks catastrophically on V8 in linear time", () => {
    const check = compileJsonSchema({ type: "string", pattern: "^(a|a)*$" });
    if (!check.ok) throw new Error(check.detail);
    // 10,000 characters: exponential on a backtracking engine, instant on RE2.
    expect(firstError(check.validate, "a".repeat(10_000))).toBeNull();
    expect(firstError(check.validate, `${"a".repeat(10_000)}b`)?.detail).toMatch(/must match pattern/);
  });

  it("translates JavaScript syntax RE2 lacks (\\u escapes, [^])", () => {
    const check = compileJsonSchema({ type: "string", pattern: "^caf\\u00e9[^]$" });
    if (!check.ok) throw new Error(check.detail);
    expect(check.validate("café!")).toBe(true);
    expect(check.validate("cafe!")).toBe(false);
  });

  it.each([
    ["a backreference", { type: "object", properties: { x: { type: "string", pattern: "^(a)\\1$" } } }, "/properties/x/pattern"],
    ["a lookahead", { type: "object", properties: { x: { items: [{ pattern: "(?=a)b" }] } } }, "/properties/x/items/0/pattern"],
    ["a lookbehind in patternProperties", { type: "object", patternProperties: { "(?<=a)b": {} } }, "/patternProperties/(?<=a)b"],
  ])("refuses %s with the pointer of the pattern", (_name, schema, pointer) => {
    const check = compileJsonSchema(schema);
    expect(check).toMatchObject({ ok: false, kind: "unusable", pointer });
    if (!check.ok) expect(check.detail).toMatch(/linear-time \(RE2\) engine/);
  });

  it("names the pattern in a descriptor's JSON path", () => {
    expect(appendPointer("capabilities[0].outputSchema", "/properties/x/pattern")).toBe("capabilities[0].outputSchema.properties.x.pattern");
  });

  it("refuses schemas that are too large or too deep, and data too large to validate", () => {
    const big = { type: "object", description: "x".repeat(SCHEMA_LIMITS.maxSchemaBytes) };
    expect(compileJsonSchema(big)).toMatchObject({ ok: false, pointer: "", detail: expect.stringMatching(/larger than/) });
    let deep: Record<string, unknown> = { type: "string" };
    for (let i = 0; i < SCHEMA_LIMITS.maxSchemaDepth; i++) deep = { type: "array", items: deep };
    expect(compileJsonSchema(deep)).toMatchObject({ ok: false, detail: expect.stringMatching(/deeper than/) });
    const check = compileJsonSchema({ type: "string" });
    if (!check.ok) throw new Error(check.detail);
    expect(firstError(check.validate, "x".repeat(SCHEMA_LIMITS.maxDataBytes + 1))?.detail).toMatch(/larger than/);
    expect(firstError(check.validate, "x")).toBeNull();
  });
});

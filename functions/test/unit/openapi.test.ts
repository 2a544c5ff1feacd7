import { validate } from "@readme/openapi-parser";
import { openApiDocument } from "../../src/openapi";
import { ERROR_CATALOGUE } from "../../src/kernel/errors";

/** The OpenAPI document as client generators read it (docs/sdk.md generates the SDK from it). */
type Schema = {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  default?: unknown;
  $ref?: string;
  additionalProperties?: unknown;
};
type Operation = {
  operationId: string;
  parameters?: { name: string; required?: boolean; schema: Schema }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, { schema: Schema }> }>;
};
const doc = openApiDocument() as unknown as {
  paths: Record<string, Record<string, Operation>>;
  webhooks: Record<string, { post: Operation }>;
  components: { schemas: Record<string, Schema>; headers: Record<string, unknown> };
  tags: { name: string; description: string }[];
  info: { license?: { name: string } };
};
const operations = Object.values(doc.paths).flatMap((p) => Object.values(p));
const resolve = (s: Schema): Schema => (s.$ref ? resolve(doc.components.schemas[s.$ref.split("/").pop()!]!) : s);

describe("the OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid ? [] : result.errors).toEqual([]);
  });

  it("names every operation with a short, unique camelCase id", () => {
    const ids = operations.map((o) => o.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z][a-zA-Z]{3,30}$/);
    expect(ids).toEqual(expect.arrayContaining(["validatePackageVersion", "requestAccessToken", "installPackage"]));
  });

  it("types error codes as the documented enum, in a schema that does not shadow Error", () => {
    expect(doc.components.schemas.Error).toBeUndefined();
    const code = resolve(doc.components.schemas.ApiError!).properties!.error!.properties!.code as { enum: string[] };
    expect(code.enum.sort()).toEqual(Object.keys(ERROR_CATALOGUE).sort());
    const token = doc.paths["/v1/providers/auth/token"]!.post!;
    expect(token.responses["401"]!.content!["application/json"]!.schema.$ref).toBe("#/components/schemas/OAuthError");
  });

  it("documents the response headers: request id and rate limits everywhere, Location on creation, Retry-After on 429", () => {
    for (const op of operations) {
      for (const [status, response] of Object.entries(op.responses)) {
        expect(Object.keys(response.headers ?? {})).toEqual(
          expect.arrayContaining(["X-Request-Id", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"]),
        );
        if (status === "429") expect(Object.keys(response.headers ?? {})).toContain("Retry-After");
      }
    }
    expect(Object.keys(doc.paths["/v1/providers/apps"]!.post!.responses["201"]!.headers!)).toContain("Location");
    expect(Object.keys(doc.paths["/v1/providers/capabilities/{id}/action"]!.post!.responses["200"]!.headers!)).toContain("Idempotent-Replayed");
  });

  it("keeps requests strict and responses open to fields added later", () => {
    for (const op of operations) {
      for (const response of Object.values(op.responses)) {
        for (const media of Object.values(response.content ?? {})) expect(resolve(media.schema).additionalProperties).not.toBe(false);
      }
    }
    expect(doc.components.schemas.CreateAppRequest!.additionalProperties).toBe(false);
  });

  it("never requires a request field that has a default", () => {
    const violations: string[] = [];
    const check = (schema: Schema, where: string) => {
      const s = resolve(schema);
      for (const [name, property] of Object.entries(s.properties ?? {})) {
        if (resolve(property).default !== undefined && s.required?.includes(name)) violations.push(`${where}.${name}`);
        check(property, `${where}.${name}`);
      }
    };
    for (const op of operations) {
      for (const p of op.parameters ?? []) if (p.schema.default !== undefined && p.required) violations.push(`${op.operationId} ${p.name}`);
      for (const media of Object.values(op.requestBody?.content ?? {})) check(media.schema, op.operationId);
    }
    expect(violations).toEqual([]);
  });

  it("describes every webhook event's body, and has tags with descriptions and a license", () => {
    expect(Object.keys(doc.webhooks)).toEqual(expect.arrayContaining(["package.version.published", "install.created", "certification.changed"]));
    const body = doc.webhooks["install.created"]!.post.requestBody!.content["application/json"]!.schema;
    expect(Object.keys(resolve(body).properties!)).toEqual(["id", "type", "occurredAt", "appId", "data"]);
    const used = new Set(operations.flatMap((o) => (o as unknown as { tags: string[] }).tags));
    for (const tag of used) expect(doc.tags.find((t) => t.name === tag)?.description).toBeTruthy();
    expect(doc.info.license?.name).toBeTruthy();
  });
});

/** The fuzzer's view of `/v1/openapi.json`: every operation with what it takes and how it answers errors. */
import { request as httpRequest } from "node:http";

export type JsonSchema = Record<string, any>;
export type OpenApiDocument = {
  paths: Record<string, Record<string, any>>;
  components: { schemas: Record<string, JsonSchema> };
  [k: string]: unknown;
};

export interface Parameter {
  name: string;
  in: "path" | "query" | "header";
  required: boolean;
  schema: JsonSchema;
}

export type Security = "none" | "firebase" | "oauth";

export interface Operation {
  operationId: string;
  method: "get" | "post" | "put" | "patch" | "delete";
  /** The template, `/v1/providers/apps/{id}`. */
  path: string;
  security: Security;
  params: Parameter[];
  body?: { schema: JsonSchema; contentTypes: string[]; required: boolean };
  /** Errors in the OAuth format (`{error, error_description}`) instead of the envelope: the token endpoint. */
  oauthErrors: boolean;
  /** Its success response carries a secret shown once (a new client secret, a signing secret). */
  returnsSecret: boolean;
  /** It answers a stream (Server-Sent Events): read only its head. */
  streams: boolean;
}

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

/** Resolves a local `$ref` (`#/components/schemas/X`). */
export function deref(doc: OpenApiDocument, schema: JsonSchema | undefined): JsonSchema | undefined {
  let s = schema;
  for (let hops = 0; s && typeof s.$ref === "string" && hops < 20; hops++) {
    s = s.$ref
      .slice(2)
      .split("/")
      .reduce((node: any, key: string) => node?.[key], doc) as JsonSchema | undefined;
  }
  return s;
}

/** Every property name reachable in a schema (through refs, items, compositions), to a bounded depth. */
function propertyNames(doc: OpenApiDocument, schema: JsonSchema | undefined, out = new Set<string>(), depth = 0): Set<string> {
  const s = deref(doc, schema);
  if (!s || depth > 8) return out;
  for (const [name, sub] of Object.entries((s.properties ?? {}) as Record<string, JsonSchema>)) {
    out.add(name);
    propertyNames(doc, sub, out, depth + 1);
  }
  for (const key of ["items", "additionalProperties"]) if (s[key] && typeof s[key] === "object") propertyNames(doc, s[key], out, depth + 1);
  for (const key of ["allOf", "anyOf", "oneOf"]) for (const sub of (s[key] ?? []) as JsonSchema[]) propertyNames(doc, sub, out, depth + 1);
  return out;
}

const SECRET_FIELDS = new Set(["client_secret", "signingSecret", "secret"]);

export function operationsOf(doc: OpenApiDocument): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op?.operationId) continue;
      const schemes = ((op.security ?? []) as Record<string, unknown>[]).flatMap((s) => Object.keys(s));
      const security: Security = schemes.includes("oauth2ClientCredentials") ? "oauth" : schemes.includes("firebaseIdToken") ? "firebase" : "none";
      const params = [...((item.parameters ?? []) as any[]), ...((op.parameters ?? []) as any[])].map((p) => ({
        name: p.name as string,
        in: p.in,
        required: Boolean(p.required),
        schema: (deref(doc, p.schema) ?? {}) as JsonSchema,
      }));
      const content = op.requestBody?.content as Record<string, { schema: JsonSchema }> | undefined;
      const contentTypes = Object.keys(content ?? {});
      const success = Object.entries((op.responses ?? {}) as Record<string, any>).filter(([code]) => code.startsWith("2"));
      const successSchemas = success.map(([, r]) => r?.content?.["application/json"]?.schema).filter(Boolean);
      const names = new Set<string>();
      for (const s of successSchemas) propertyNames(doc, s, names);
      ops.push({
        operationId: op.operationId,
        method,
        path,
        security,
        params,
        ...(content && contentTypes.length
          ? { body: { schema: deref(doc, content[contentTypes[0]!]!.schema) ?? {}, contentTypes, required: Boolean(op.requestBody.required) } }
          : {}),
        oauthErrors: JSON.stringify(op.responses ?? {}).includes("#/components/schemas/OAuthError"),
        returnsSecret: [...names].some((n) => SECRET_FIELDS.has(n)),
        streams: success.some(([, r]) => Boolean(r?.content?.["text/event-stream"])),
      });
    }
  }
  // A stable order: request i goes to operation i mod n, whatever order the document lists them in.
  return ops.sort((a, b) => a.operationId.localeCompare(b.operationId));
}

/** The documented error codes of the envelope and of the OAuth format. */
export function errorCodesOf(doc: OpenApiDocument): { envelope: Set<string>; oauth: Set<string> } {
  const apiError = deref(doc, doc.components.schemas.ApiError);
  const oauthError = deref(doc, doc.components.schemas.OAuthError);
  const envelope = (apiError?.properties?.error?.properties?.code?.enum ?? []) as string[];
  const oauth = (oauthError?.properties?.error?.enum ?? []) as string[];
  if (!envelope.length) throw new Error("The OpenAPI document has no ApiError code enum");
  return { envelope: new Set(envelope), oauth: new Set(oauth) };
}

/** GET `<baseUrl>/v1/openapi.json` from the running API. */
export function fetchOpenApi(baseUrl: string): Promise<OpenApiDocument> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${baseUrl}/v1/openapi.json`, { headers: { connection: "close" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        if (res.statusCode !== 200) return reject(new Error(`GET /v1/openapi.json answered ${res.statusCode}: ${text.slice(0, 300)}`));
        resolve(JSON.parse(text) as OpenApiDocument);
      });
    });
    req.setTimeout(60_000, () => req.destroy(new Error("GET /v1/openapi.json timed out")));
    req.on("error", reject);
    req.end();
  });
}

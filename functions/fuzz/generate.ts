/**
 * Request generation: for each operation of the OpenAPI document, a fast-check arbitrary over
 * requests, a valid one (openapi-sampler's sample with the world's real ids and the right token)
 * or one of the mutations below. Request i goes to operation i mod n and is drawn with seed
 * `seed + i`, so any request of a run can be drawn again from (seed, i) alone.
 */
import fc from "fast-check";
import { sample as sampleSchema } from "openapi-sampler";
import { type JsonSchema, type OpenApiDocument, type Operation } from "./spec";
import { INVALID_TOKENS, TOKEN_KINDS, type TokenKind, type World } from "./model";

export const MUTATIONS = [
  "valid",
  "field-value",
  "extra-field",
  "missing-body",
  "malformed-json",
  "content-type",
  "oversized-body",
  "deep-nesting",
  "proto-pollution",
  "query-value",
  "pagination",
  "duplicate-query",
  "path-id",
  "token",
  "wrong-method",
  "header-value",
] as const;
export type Mutation = (typeof MUTATIONS)[number];

/**
 * What the answer must be, beyond the envelope: `auth-rejected` (401, or 429 when the failures'
 * rate limit kicks in), `not-granted` (no 2xx: a principal of the wrong kind), `cross-tenant` (no 2xx
 * and no 403: another tenant's id is a 404).
 */
export type Expectation = "auth-rejected" | "not-granted" | "cross-tenant";

export interface FuzzRequest {
  index: number;
  operationId: string;
  method: string;
  /** Path and query exactly as sent (no normalisation). */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  token: TokenKind;
  mutation: Mutation;
  /** What was changed, for humans. */
  note: string;
  /** What the request really contains (computed from its bytes): invalid-unicode, invalid-utf8, nul, deep-nesting, proto-key, oversized. */
  tags: string[];
  expect: Expectation[];
}

interface Draft {
  method: string;
  pathParams: Record<string, string>;
  /** Raw (already encoded) name=value pairs, or a raw query string. */
  query: [string, string][] | string;
  headers: Record<string, string>;
  body?: Buffer;
  token: TokenKind;
  tokenVariant: number;
  mutation: Mutation;
  note: string;
  expect: Expectation[];
}

export interface GenContext {
  doc: OpenApiDocument;
  world: World;
}

export const MAX_BODY = 1024 * 1024;
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];

// ---------------------------------------------------------------------------------------------
// Valid requests

/** openapi-sampler's sample of a schema (examples first), never throwing. */
function sampleOf(schema: JsonSchema | undefined, doc: OpenApiDocument): unknown {
  if (!schema) return undefined;
  try {
    return sampleSchema(schema as any, { skipReadOnly: true, quiet: true }, doc);
  } catch {
    return undefined;
  }
}

/** Known field names get the world's real values, so a sampled body reaches real resources. */
function withWorldValues(value: unknown, world: World): unknown {
  const known: Record<string, unknown> = {
    appId: world.a.appId,
    packageId: world.a.packageId,
    bindingId: world.a.bindingId,
    capability: world.a.capability,
    grant_type: "client_credentials",
    client_id: world.a.victimClientId,
    client_secret: world.a.victimClientSecret,
  };
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object") {
      return Object.fromEntries(Object.entries(v).map(([k, sub]) => [k, k in known && typeof sub === "string" ? known[k] : walk(sub)]));
    }
    return v;
  };
  return walk(value);
}

/** Operations whose path ids belong to a provider tenant (another tenant's id must be a 404). */
const tenantOwned = (op: Operation) =>
  op.params.some((p) => p.in === "path") &&
  /^\/v1\/providers\/(apps|packages\/manage|runtime\/apps|capabilities)\//.test(op.path) &&
  !op.path.includes("/sandbox/");

/** The real id for a path parameter: provider A's (or B's, `other`), or the sample when there is none. */
function pathId(op: Operation, name: string, ctx: GenContext, other = false): string {
  const t = other ? ctx.world.b : ctx.world.a;
  const { a } = ctx.world;
  if (name === "vid") return t.versionId;
  if (name === "runId") return t.runId;
  if (name === "reviewId") return a.reviewId;
  if (op.path.startsWith("/v1/providers/apps/")) return !other && ["deleteApp", "rotateAppSecret"].includes(op.operationId) ? a.victimAppId : t.appId;
  if (op.path.startsWith("/v1/providers/packages/manage/")) return t.packageId;
  if (op.path.startsWith("/v1/providers/runtime/apps/")) return t.runtimeAppId;
  if (op.path.startsWith("/v1/providers/capabilities/")) return t.capability;
  if (op.path.startsWith("/v1/space/marketplace/")) return a.listingId;
  return String(sampleOf(op.params.find((p) => p.name === name)?.schema, ctx.doc) ?? "x");
}

/** The token an operation's own caller holds. */
function ownToken(op: Operation): TokenKind {
  if (op.security === "oauth") return "app-access";
  if (op.security === "none") return "none";
  if (op.path.startsWith("/v1/space/")) return "end-user";
  if (op.path.startsWith("/v1/providers/packages/reviews")) return "reviewer";
  return "provider-id";
}

function queryValue(name: string, schema: JsonSchema, ctx: GenContext): string {
  if (name === "bindingId") return ctx.world.a.bindingId;
  if (name === "packageId") return ctx.world.a.packageId;
  if (name === "capability") return ctx.world.a.capability;
  const v = sampleOf(schema, ctx.doc);
  return v === undefined || v === null ? "1" : String(v);
}

/**
 * Bodies that get further than a schema sample does (fresh e-mails and slugs, real runtime
 * settings): merged over the sample in valid requests; `u` makes each request's unique values.
 */
const VALID_BODIES: Record<string, (w: World, u: string) => Record<string, unknown>> = {
  createAccount: (_w, u) => ({ email: `fuzz-${u}@example.com`, password: "Fuzz-horse-4242" }),
  updateAccount: () => ({ company_name: "Fuzz Alpha Ltd" }),
  logIn: (w) => ({ email: w.a.email, password: w.a.password }),
  resendVerificationEmail: (w) => ({ email: w.a.email }),
  createApp: (_w, u) => ({
    name: `Fuzz app ${u}`,
    description: "An app the fuzzer made.",
    redirect_uris: ["https://fuzz.example/cb"],
    webhook_url: "https://fuzz.example/hook",
  }),
  updateApp: () => ({
    name: "Fuzz Alpha app",
    description: "Renamed by the fuzzer.",
    redirect_uris: ["https://fuzz.example/cb"],
    webhook_url: "https://fuzz.example/hook",
  }),
  createPackage: (_w, u) => ({ slug: `fuzz-${u}`, name: `Fuzz package ${u}` }),
  updatePackage: () => ({ name: "Fuzz Weather" }),
  createPackageVersion: (_w, u) => ({ version: `2.${parseInt(u, 16) % 100000}.0` }),
  deprecatePackage: () => ({ reason: "Deprecated by the fuzzer." }),
  deprecatePackageVersion: () => ({ reason: "Deprecated by the fuzzer." }),
  requestAccessToken: (w) => ({ grant_type: "client_credentials", client_id: w.a.victimClientId, client_secret: w.a.victimClientSecret }),
  updateRuntimeApp: () => ({ displayName: "Fuzz runtime", status: "active" }),
  setAuthProfile: (w) => w.a.authProfile,
  setWebhookProfile: (w) => ({ url: w.a.webhookUrl, events: ["webhook.test"] }),
  invokeCapability: (w) => ({ bindingId: w.a.bindingId, parameters: { location: "Berlin" }, user: { id: "usr_fuzz" } }),
  createSandboxScenario: (w, u) => ({
    capability: w.a.capability,
    name: `Fuzz scenario ${u}`,
    kind: "invoke",
    parameters: { location: "Berlin" },
    user: { id: "usr_fuzz" },
  }),
  installPackage: () => ({ parameters: { weather_forecast: { location: "Lisbon", days: 5 } } }),
  ratePackage: () => ({ stars: 4, text: "Rated by the fuzzer." }),
};
const REPLACE_WHOLE = new Set([
  "updateAccount",
  "updatePackage",
  "requestAccessToken",
  "updateRuntimeApp",
  "setAuthProfile",
  "setWebhookProfile",
  "invokeCapability",
  "createSandboxScenario",
  "deprecatePackage",
  "deprecatePackageVersion",
]);

function validBody(op: Operation, ctx: GenContext, u: string): unknown {
  const sampled = bodySample(op, ctx);
  const fix = VALID_BODIES[op.operationId];
  if (!fix) return sampled;
  const fixed = fix(ctx.world, u);
  return REPLACE_WHOLE.has(op.operationId) || !sampled || typeof sampled !== "object" ? fixed : { ...sampled, ...fixed };
}

function baseDraft(op: Operation, ctx: GenContext): Draft {
  const pathParams: Record<string, string> = {};
  const query: [string, string][] = [];
  const headers: Record<string, string> = {};
  for (const p of op.params) {
    if (p.in === "path") pathParams[p.name] = encodeURIComponent(pathId(op, p.name, ctx));
    else if (p.in === "query" && p.required) query.push([p.name, encodeURIComponent(queryValue(p.name, p.schema, ctx))]);
    else if (p.in === "header" && p.name.toLowerCase() === "idempotency-key") headers["idempotency-key"] = "fuzz-key";
  }
  let body: Buffer | undefined;
  if (op.body) {
    headers["content-type"] = op.body.contentTypes.includes("application/json") ? "application/json" : op.body.contentTypes[0]!;
    body = Buffer.from(JSON.stringify(bodySample(op, ctx) ?? {}));
  }
  return {
    method: op.method.toUpperCase(),
    pathParams,
    query,
    headers,
    body,
    token: ownToken(op),
    tokenVariant: 0,
    mutation: "valid",
    note: "",
    expect: [],
  };
}

function bodySample(op: Operation, ctx: GenContext): unknown {
  return op.body ? withWorldValues(sampleOf(op.body.schema, ctx.doc), ctx.world) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Hostile values

const LONE_SURROGATES = ["\ud800", "\udfff", "a\ud83d", "\udc00b", "x\ud800\ud800y"];

interface Nasty {
  value: unknown;
  note: string;
}

/** A JSON value nested `depth` levels deep, built without recursion. */
export function nested(depth: number, kind: "object" | "array" = "object"): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = kind === "object" ? { a: v } : [v];
  return v;
}

/** The same as JSON text, for depths JSON.stringify would not survive. */
export const nestedText = (depth: number, kind: "object" | "array") =>
  kind === "object" ? `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}` : `${"[".repeat(depth)}1${"]".repeat(depth)}`;

/** JSON text of one object with an own `__proto__` (or `constructor.prototype`) member. */
const POLLUTION_MARKER = "fuzz_polluted_marker";
const pollutingObject = (key: "__proto__" | "constructor") =>
  JSON.parse(
    key === "__proto__"
      ? `{"__proto__":{"fuzzPolluted":"${POLLUTION_MARKER}"}}`
      : `{"constructor":{"prototype":{"fuzzPolluted":"${POLLUTION_MARKER}"}}}`,
  );

const nastyValue: fc.Arbitrary<Nasty> = fc.oneof(
  fc.constantFrom(...LONE_SURROGATES).map((value) => ({ value, note: "lone surrogate" })),
  fc.constantFrom("\u0000", "a\u0000b", "\u0000".repeat(8)).map((value) => ({ value, note: "NUL" })),
  fc.string({ unit: "binary", maxLength: 40 }).map((value) => ({ value, note: "any code points" })),
  fc.integer({ min: 10_000, max: 600_000 }).map((n) => ({ value: "x".repeat(n), note: `${n}-character string` })),
  fc
    .oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.jsonValue({ maxDepth: 2 }))
    .map((value) => ({ value, note: "wrong type" })),
  fc.constantFrom(-1, 0, 1e308, -1e308, 2 ** 53 + 1, 1.5, -0, 5e-324).map((value) => ({ value, note: "edge number" })),
  fc
    .constantFrom(
      "",
      " ",
      "null",
      "0",
      "-1",
      "1e400",
      "../../etc/passwd",
      "http://169.254.169.254/latest/meta-data/",
      "http://127.0.0.1:22/",
      "file:///etc/passwd",
      "javascript:alert(1)",
      "<script>alert(1)</script>",
      "' OR '1'='1",
      "${jndi:ldap://x/a}",
      "{{7*7}}",
      "%s%s%n",
      "\u202egnp.exe",
      "\ufeff",
      "🙂".repeat(300),
      "a".repeat(256),
    )
    .map((value) => ({ value, note: "hostile string" })),
  fc.integer({ min: 20, max: 400 }).map((d) => ({ value: nested(d), note: `nested ${d} deep` })),
  fc.constantFrom("__proto__", "constructor").map((k) => ({ value: pollutingObject(k as "__proto__" | "constructor"), note: `${k} object` })),
);

/** Paths (lists of keys) to every value inside a JSON value, root excluded. */
function pathsOf(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (out.length > 200) return out;
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : value && typeof value === "object"
      ? Object.entries(value)
      : [];
  for (const [key, v] of entries) {
    out.push([...prefix, key]);
    pathsOf(v, [...prefix, key], out);
  }
  return out;
}

function setAt(root: unknown, path: (string | number)[], value: unknown): unknown {
  if (!path.length) return value;
  const copy: any = Array.isArray(root) ? [...root] : { ...(root as object) };
  const [head, ...rest] = path;
  if (Array.isArray(copy)) copy[head as number] = setAt(copy[head as number], rest, value);
  else
    Object.defineProperty(copy, head as string, {
      value: setAt(copy[head as string], rest, value),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return copy;
}

// Percent-encoded hostile ids and query values, sent as they are.
const HOSTILE_IDS = [
  "..",
  "%2e%2e",
  "%2E%2E%2F%2E%2E%2Fv1%2Fopenapi.json",
  "..%2f..%2f..%2fetc%2fpasswd",
  "%252e%252e%252f",
  "%00",
  "x%00y",
  "%",
  "%zz",
  "%ff",
  "%ED%A0%80",
  "%C0%AE%C0%AE",
  ".",
  "%20",
  "null",
  "undefined",
  "%5Bobject%20Object%5D",
  "__proto__",
  "constructor",
  "*",
  "%2A",
  "A".repeat(3000),
  "%E2%80%AE",
  "app_%00AAAAAAAAAAAAAAAAAAA",
];
const HOSTILE_QUERY_VALUES = [
  "",
  "%00",
  "%ED%A0%80",
  "%ED%B0%80",
  "%C0%AE",
  "%ff%fe",
  "%E2%82",
  "%zz",
  "%",
  "%2525",
  "a%00b",
  "x".repeat(8000),
  "%5B%5D",
  "true",
  "null",
  "-1",
  "1e309",
  "..%2F..%2F",
];
const PAGINATION_VALUES = [
  "-1",
  "0",
  "101",
  "1e3",
  "1.5",
  "NaN",
  "Infinity",
  "-0",
  "99999999999999999999999",
  "0x10",
  "%205",
  "5%20",
  "abc",
  "",
  "null",
  "true",
  "%ED%A0%80",
  "1%00",
];

// ---------------------------------------------------------------------------------------------
// Mutations: each maps a valid draft to hostile ones (null where it does not apply)

type MutationArb = (op: Operation, base: Draft, ctx: GenContext) => fc.Arbitrary<Draft> | null;

const jsonBody = (value: unknown) => Buffer.from(JSON.stringify(value));
const queryNames = (op: Operation) => op.params.filter((p) => p.in === "query");

const mutations: Record<Mutation, MutationArb> = {
  valid: (op, base, ctx) => {
    const optional = queryNames(op).filter((p) => !p.required);
    return fc.tuple(fc.subarray(optional), fc.stringMatching(/^[0-9a-f]{10}$/)).map(([chosen, u]) => ({
      ...base,
      ...(op.body ? { body: jsonBody(validBody(op, ctx, u)) } : {}),
      query: [
        ...(base.query as [string, string][]),
        ...chosen.map((p): [string, string] => [p.name, encodeURIComponent(queryValue(p.name, p.schema, ctx))]),
      ],
      note: chosen.length ? `with ${chosen.map((p) => p.name).join(", ")}` : "sampled",
    }));
  },

  "field-value": (op, base, ctx) => {
    const sampled = bodySample(op, ctx);
    const paths = pathsOf(sampled);
    if (!op.body || !paths.length) return null;
    return fc.tuple(fc.constantFrom(...paths), nastyValue).map(([path, nasty]) => ({
      ...base,
      body: jsonBody(setAt(sampled, path, nasty.value)),
      mutation: "field-value" as const,
      note: `${path.join(".")}: ${nasty.note}`,
    }));
  },

  "extra-field": (op, base, ctx) => {
    const sampled = bodySample(op, ctx);
    if (!op.body || !sampled || typeof sampled !== "object" || Array.isArray(sampled)) return null;
    return fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), nastyValue).map(([key, nasty]) => ({
      ...base,
      body: jsonBody({ ...sampled, [`x${key}`]: nasty.value }),
      mutation: "extra-field" as const,
      note: `unknown field x${key}: ${nasty.note}`,
    }));
  },

  "missing-body": (op, base) =>
    op.body
      ? fc.constantFrom("", "   ", "null", "[]", '""', "0").map((raw) => ({
          ...base,
          body: raw ? Buffer.from(raw) : undefined,
          mutation: "missing-body" as const,
          note: raw ? `body ${JSON.stringify(raw)}` : "no body",
        }))
      : null,

  "malformed-json": (op, base) => {
    if (!op.body) return null;
    const valid = base.body?.toString("utf8") ?? "{}";
    return fc
      .oneof(
        fc.integer({ min: 1, max: Math.max(1, valid.length - 1) }).map((cut) => ({ raw: Buffer.from(valid.slice(0, cut)), note: `cut at ${cut}` })),
        fc
          .constantFrom(
            "{",
            '{"a":}',
            "[1,]",
            "{'a':1}",
            "NaN",
            "undefined",
            '{"a":1}garbage',
            "{\u0000}",
            '{"a":"\\x41"}',
            '{"a":"\\ud800',
            '{"a":01}',
          )
          .map((raw) => ({ raw: Buffer.from(raw), note: JSON.stringify(raw) })),
        fc.constant({ raw: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(valid)]), note: "UTF-8 BOM" }),
        fc.constant({ raw: Buffer.from(valid, "utf16le"), note: "UTF-16 bytes" }),
        fc.constant({
          raw: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xed, 0xa0, 0x80, 0x22, 0x7d]),
          note: "invalid UTF-8 bytes in a string",
        }),
      )
      .map(({ raw, note }) => ({ ...base, body: raw, mutation: "malformed-json" as const, note }));
  },

  "content-type": (op, base) =>
    op.body
      ? fc
          .constantFrom(
            "text/plain",
            "application/xml",
            "multipart/form-data; boundary=x",
            "application/x-www-form-urlencoded",
            "application/json; charset=utf-16",
            "application/json; charset=latin1",
            "application/jsonx",
            "",
            "application/*",
            "APPLICATION/JSON",
            "application/json;;",
            "application/json, text/html",
            "application/merge-patch+json",
            "gzip",
          )
          .map((type) => {
            const headers = { ...base.headers };
            if (type === "gzip") headers["content-encoding"] = "gzip";
            else headers["content-type"] = type;
            return {
              ...base,
              headers,
              mutation: "content-type" as const,
              note: type === "gzip" ? "Content-Encoding: gzip (not gzipped)" : `Content-Type: ${type}`,
            };
          })
      : null,

  "oversized-body": (op, base) =>
    op.body
      ? fc.integer({ min: MAX_BODY + 1, max: 2 * MAX_BODY }).map((n) => ({
          ...base,
          body: Buffer.from(JSON.stringify({ padding: "x".repeat(n) })),
          mutation: "oversized-body" as const,
          note: `${n}-byte field`,
        }))
      : null,

  "deep-nesting": (op, base, ctx) => {
    if (!op.body) return null;
    const sampled = bodySample(op, ctx);
    const paths = pathsOf(sampled);
    return fc
      .tuple(
        fc.constantFrom(32, 200, 1_000, 10_000, 100_000),
        fc.constantFrom<"object" | "array">("object", "array"),
        fc.option(fc.constantFrom(...(paths.length ? paths : [["a"]]))),
      )
      .map(([depth, kind, path]) => {
        const text = nestedText(depth, kind);
        const raw = path ? JSON.stringify(setAt(sampled, path, "\u0001DEEP\u0001")).replace('"\\u0001DEEP\\u0001"', text) : text;
        return {
          ...base,
          body: Buffer.from(raw),
          mutation: "deep-nesting" as const,
          note: `${kind}s ${depth} deep ${path ? `at ${path.join(".")}` : "as the body"}`,
        };
      });
  },

  "proto-pollution": (op, base, ctx) => {
    const sampled = bodySample(op, ctx);
    const inBody = op.body && sampled && typeof sampled === "object" && !Array.isArray(sampled);
    const queryForms = [
      `__proto__%5BfuzzPolluted%5D=${POLLUTION_MARKER}`,
      `constructor%5Bprototype%5D%5BfuzzPolluted%5D=${POLLUTION_MARKER}`,
      `__proto__.fuzzPolluted=${POLLUTION_MARKER}`,
    ];
    const viaQuery = fc.constantFrom(...queryForms).map((q) => ({ ...base, query: q, mutation: "proto-pollution" as const, note: `query ${q}` }));
    if (!inBody) return viaQuery;
    const paths = pathsOf(sampled).filter((p) => {
      const v = p.reduce((node: any, k) => node?.[k], sampled);
      return v && typeof v === "object" && !Array.isArray(v);
    });
    const viaBody = fc
      .tuple(fc.constantFrom<"__proto__" | "constructor">("__proto__", "constructor"), fc.option(fc.constantFrom(...(paths.length ? paths : [[]]))))
      .map(([key, path]) => {
        const target = path ? path.reduce((node: any, k) => node?.[k], sampled) : sampled;
        // Defined, not assigned: assigning `__proto__` would set the prototype instead of adding a member.
        const merged = JSON.parse(JSON.stringify(target));
        for (const [k, v] of Object.entries(pollutingObject(key)))
          Object.defineProperty(merged, k, { value: v, enumerable: true, writable: true, configurable: true });
        return {
          ...base,
          body: jsonBody(path && path.length ? setAt(sampled, path, merged) : merged),
          mutation: "proto-pollution" as const,
          note: `${key} member ${path && path.length ? `in ${path.join(".")}` : "at the top"}`,
        };
      });
    return fc.oneof(viaBody, viaQuery);
  },

  "query-value": (op, base) => {
    const names = [...queryNames(op).map((p) => p.name), "unknown"];
    return fc.tuple(fc.constantFrom(...names), fc.constantFrom(...HOSTILE_QUERY_VALUES)).map(([name, value]) => ({
      ...base,
      query: [...(base.query as [string, string][]).filter(([n]) => n !== name), [name, value] as [string, string]],
      mutation: "query-value" as const,
      note: `${name}=${value.slice(0, 40)}`,
    }));
  },

  pagination: (op, base) => {
    const names = queryNames(op)
      .map((p) => p.name)
      .filter((n) => ["limit", "offset", "lastEventId", "since", "cursor"].includes(n));
    if (!names.length) return null;
    return fc
      .tuple(
        fc.constantFrom(...names, "cursor", "page_token"),
        fc.oneof(fc.constantFrom(...PAGINATION_VALUES), fc.string({ maxLength: 24 }).map(encodeURIComponent)),
        fc.constantFrom("", "[]", "[a]"),
      )
      .map(([name, value, shape]) => ({
        ...base,
        query: [
          ...(base.query as [string, string][]).filter(([n]) => n !== name),
          [`${name}${encodeURIComponent(shape)}`, value] as [string, string],
        ],
        mutation: "pagination" as const,
        note: `${name}${shape}=${value.slice(0, 40)}`,
      }));
  },

  "duplicate-query": (op, base, ctx) => {
    const params = queryNames(op);
    const names = params.length ? params.map((p) => p.name) : ["limit"];
    return fc.tuple(fc.constantFrom(...names), fc.constantFrom("1", "2", "-1", "abc", "")).map(([name, second]) => {
      const p = params.find((x) => x.name === name);
      const first = p ? encodeURIComponent(queryValue(name, p.schema, ctx)) : "1";
      return {
        ...base,
        query: [
          ...(base.query as [string, string][]).filter(([n]) => n !== name),
          [name, first] as [string, string],
          [name, second] as [string, string],
        ],
        mutation: "duplicate-query" as const,
        note: `${name}=${first}&${name}=${second}`,
      };
    });
  },

  "path-id": (op, base, ctx) => {
    const names = op.params.filter((p) => p.in === "path").map((p) => p.name);
    if (!names.length) return null;
    const owned = tenantOwned(op);
    return fc
      .tuple(
        fc.constantFrom(...names),
        fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...HOSTILE_IDS) }, { weight: 1, arbitrary: fc.constant("<other>") }),
      )
      .map(([name, id]) => {
        const other = id === "<other>";
        const value = other
          ? encodeURIComponent(owned ? pathId(op, name, ctx, true) : String(sampleOf(op.params.find((p) => p.name === name)!.schema, ctx.doc)))
          : id;
        return {
          ...base,
          pathParams: { ...base.pathParams, [name]: value },
          mutation: "path-id" as const,
          note: other ? `${name}: ${owned ? "another tenant's id" : "a well-formed unknown id"}` : `${name}: ${id.slice(0, 40)}`,
          expect: other && owned ? (["cross-tenant"] as Expectation[]) : [],
        };
      });
  },

  token: (op, base) => {
    const own = ownToken(op);
    return fc.tuple(fc.constantFrom(...TOKEN_KINDS.filter((k) => k !== own)), fc.nat(50)).map(([token, variant]) => ({
      ...base,
      token,
      tokenVariant: variant,
      mutation: "token" as const,
      note: `token: ${token}`,
      expect: tokenExpectations(op, token),
    }));
  },

  "wrong-method": (op, base, ctx) => {
    const defined = Object.keys(ctx.doc.paths[op.path] ?? {}).map((m) => m.toUpperCase());
    const others = METHODS.filter((m) => !defined.includes(m));
    if (!others.length) return null;
    return fc
      .constantFrom(...others)
      .map((method) => ({ ...base, method, mutation: "wrong-method" as const, note: `${method} instead of ${op.method.toUpperCase()}` }));
  },

  "header-value": (_op, base) =>
    fc
      .constantFrom<[string, string]>(
        ["idempotency-key", "k".repeat(300)],
        ["idempotency-key", "with space"],
        ["idempotency-key", ""],
        ["accept", "application/xml"],
        ["accept", "text/event-stream"],
        ["accept-encoding", "gzip, br"],
        ["x-forwarded-for", "not-an-ip, 999.1.1.1, ::zz"],
        ["x-forwarded-for", Array.from({ length: 200 }, (_, i) => `10.0.${i % 256}.1`).join(", ")],
        ["last-event-id", "garbage%00"],
        ["if-match", "*"],
        ["x-http-method-override", "DELETE"],
        ["origin", "https://evil.example"],
        ["cookie", "session=1; __proto__=x"],
      )
      .map(([name, value]) => ({
        ...base,
        headers: { ...base.headers, [name]: value },
        mutation: "header-value" as const,
        note: `${name}: ${value.slice(0, 40)}`,
      })),
};

/** What a secured operation must answer to a token of `token`'s kind. */
export function tokenExpectations(op: Operation, token: TokenKind): Expectation[] {
  if (op.security === "none") return [];
  if (INVALID_TOKENS.includes(token)) return ["auth-rejected"];
  const firebaseKinds: TokenKind[] = ["provider-id", "other-tenant-id", "unverified-provider", "end-user", "reviewer"];
  if (op.security === "oauth")
    return firebaseKinds.includes(token) ? ["auth-rejected"] : token === "other-tenant-access" && tenantOwned(op) ? ["cross-tenant"] : [];
  if (token === "app-access" || token === "other-tenant-access") return ["auth-rejected"];
  if (op.path.startsWith("/v1/space/")) return [];
  if (op.path.startsWith("/v1/providers/packages/reviews")) return token === "reviewer" ? [] : ["not-granted"];
  if (token === "end-user" || token === "reviewer") return ["not-granted"];
  if (token === "other-tenant-id" && tenantOwned(op)) return ["cross-tenant"];
  return [];
}

const WEIGHTS: Record<Mutation, number> = {
  valid: 12,
  "field-value": 18,
  "extra-field": 3,
  "missing-body": 2,
  "malformed-json": 5,
  "content-type": 4,
  "oversized-body": 1,
  "deep-nesting": 3,
  "proto-pollution": 4,
  "query-value": 5,
  pagination: 6,
  "duplicate-query": 3,
  "path-id": 8,
  token: 12,
  "wrong-method": 2,
  "header-value": 3,
};

/** The arbitrary of one operation's requests (drafts; `build` turns one into bytes). */
function operationArbitrary(op: Operation, ctx: GenContext, only?: Mutation[]): fc.Arbitrary<Draft> {
  const base = baseDraft(op, ctx);
  const choices = MUTATIONS.filter((m) => !only || only.includes(m))
    .map((m) => ({ m, arb: mutations[m](op, base, ctx) }))
    .filter((c): c is { m: Mutation; arb: fc.Arbitrary<Draft> } => c.arb !== null)
    .map(({ m, arb }) => ({ weight: WEIGHTS[m], arbitrary: arb }));
  if (!choices.length) return fc.constant(base);
  return fc.oneof(...choices);
}

// ---------------------------------------------------------------------------------------------
// From a draft to the request's bytes, and what those bytes really contain

/** Max nesting depth of JSON text (brackets outside strings). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{" || c === "[") max = Math.max(max, ++depth);
    else if (c === "}" || c === "]") depth--;
  }
  return max;
}

const LONE_SURROGATE_ESCAPE = /\\u(d[89ab][0-9a-f]{2})(?!\\u(d[c-f][0-9a-f]{2}))|(?<!\\u(d[89ab][0-9a-f]{2}))\\u(d[c-f][0-9a-f]{2})/i;
const RAW_LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const ENCODED_SURROGATE = /%ed%[ab][0-9a-f]/i;

/** Tags from the bytes of a request (not from what the generator meant to do). */
export function tagsOf(path: string, body: Buffer | undefined): string[] {
  const tags = new Set<string>();
  const text = body?.toString("utf8") ?? "";
  if (LONE_SURROGATE_ESCAPE.test(text) || RAW_LONE_SURROGATE.test(text) || ENCODED_SURROGATE.test(path)) tags.add("invalid-unicode");
  if (/\\u0000/i.test(text) || text.includes("\u0000") || /%00/.test(path)) tags.add("nul");
  if (body && jsonDepth(text) > 20) tags.add("deep-nesting");
  if (/"(__proto__|constructor)"\s*:/.test(text) || /(__proto__|constructor)(%5B|\[|\.)/i.test(path)) tags.add("proto-key");
  if (body && body.length > MAX_BODY) tags.add("oversized");
  if (body && !Buffer.from(text, "utf8").equals(body)) tags.add("invalid-utf8");
  return [...tags].sort();
}

function build(op: Operation, draft: Draft, index: number, ctx: GenContext): FuzzRequest {
  const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => draft.pathParams[name] ?? "x");
  const query = typeof draft.query === "string" ? draft.query : draft.query.map(([k, v]) => `${k}=${v}`).join("&");
  const headers: Record<string, string> = { ...draft.headers };
  const auth = ctx.world.authorization[draft.token];
  // Spread over the kind's tokens (four end users share the catalog traffic and its per-user limit).
  if (auth?.length) headers.authorization = auth[(draft.tokenVariant + index) % auth.length]!;
  const full = query ? `${path}?${query}` : path;
  return {
    index,
    operationId: op.operationId,
    method: draft.method,
    path: full,
    headers,
    ...(draft.body !== undefined ? { body: draft.body } : {}),
    token: draft.token,
    mutation: draft.mutation,
    note: draft.note,
    tags: tagsOf(full, draft.body),
    expect: draft.expect,
  };
}

/** The seed request `index` of a run with `seed` is drawn with. */
const requestSeed = (seed: number, index: number) => (seed + index * 7919) | 0;

export class Generator {
  private readonly arbitraries = new Map<string, fc.Arbitrary<Draft>>();

  constructor(
    readonly ops: Operation[],
    private readonly ctx: GenContext,
    private readonly only?: Mutation[],
  ) {
    if (!ops.length) throw new Error("No operations to fuzz");
  }

  operationAt(index: number): Operation {
    return this.ops[index % this.ops.length]!;
  }

  /** Request `index` of the run with `seed`: the same (seed, index) gives the same request. */
  request(seed: number, index: number): FuzzRequest {
    const op = this.operationAt(index);
    let arb = this.arbitraries.get(op.operationId);
    if (!arb) this.arbitraries.set(op.operationId, (arb = operationArbitrary(op, this.ctx, this.only)));
    const [draft] = fc.sample(arb, { seed: requestSeed(seed, index), numRuns: 1 });
    return build(op, draft!, index, this.ctx);
  }
}

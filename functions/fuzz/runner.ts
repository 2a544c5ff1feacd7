/** Sends generated requests with bounded concurrency and time, judges every answer, and tallies the report. */
import { request as httpRequest } from "node:http";
import { brotliDecompressSync, gunzipSync, inflateSync } from "node:zlib";
import { type FuzzRequest, Generator, type Mutation } from "./generate";
import { type FuzzResponse, judge, type OracleContext, type Verdict } from "./oracle";
import { errorCodesOf, type OpenApiDocument, operationsOf } from "./spec";
import type { World } from "./model";

export interface FuzzOptions {
  baseUrl: string;
  seed: number;
  /** Requests to send (request indexes 0..count-1, or `indexes`). */
  count: number;
  /** Requests in flight at once (at most 8). */
  concurrency: number;
  /** Stop starting new requests after this long. */
  timeLimitMs: number;
  /** Per-request deadline. */
  requestTimeoutMs?: number;
  /** Only these operations (request indexes keep their place, so a request reproduces alone). */
  operations?: string[];
  /** Only these request indexes (reproducing one finding). */
  indexes?: number[];
  mutations?: Mutation[];
  log?: (line: string) => void;
  /** Every exchange's outcome, one JSON line each (index, operation, mutation, status, error code). */
  trace?: (line: string) => void;
}

interface Finding extends Verdict {
  index: number;
  operationId: string;
  mutation: Mutation;
  note: string;
  tags: string[];
  status: number;
  request: { method: string; path: string; headers: Record<string, string>; body?: string; bodyBase64?: string; bodyBytes?: number; token: string };
  response: { status: number; headers: Record<string, string>; body: string };
  reproduce: string;
}

interface Tally {
  requests: number;
  byClass: Record<string, number>;
}

export interface FuzzReport {
  seed: number;
  baseUrl: string;
  startedAt: string;
  durationMs: number;
  requested: number;
  requests: number;
  /** True when the time limit stopped the run before `requested`. */
  truncated: boolean;
  concurrency: number;
  operations: number;
  byStatusClass: Record<string, number>;
  byStatus: Record<string, number>;
  perOperation: Record<string, Tally>;
  perMutation: Record<string, Tally>;
  /** 502/504 with a PROVIDER_* code: the provider runtime failed, answered as documented. */
  providerFailures: number;
  /** Answers without the function's X-Request-Id (the serving layer answered). */
  answeredBeforeFunction: number;
  /** 5xx and non-envelope count the function's own answers; `serving` those of the serving in front of it. */
  counts: { fiveXX: number; nonEnvelope: number; leaks: number; authz: number; transport: number; serving: number; known: number };
  findings: Finding[];
  known: Finding[];
}

const classOf = (status: number) => (status ? `${Math.floor(status / 100)}xx` : "none");

const decompress = (body: Buffer, encoding: string | undefined): Buffer => {
  try {
    if (encoding === "gzip") return gunzipSync(body);
    if (encoding === "br") return brotliDecompressSync(body);
    if (encoding === "deflate") return inflateSync(body);
  } catch {
    return body;
  }
  return body;
};

/** One request exactly as generated (raw path, raw body), over a fresh loopback connection. */
export async function send(baseUrl: string, req: FuzzRequest, timeoutMs: number): Promise<FuzzResponse> {
  const url = new URL(baseUrl);
  if (!["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) throw new Error(`The fuzzer sends to loopback only, not ${url.hostname}`);
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = { connection: "close", ...req.headers };
    if (req.body) headers["content-length"] = req.body.length;
    let settled = false;
    const done = (res: FuzzResponse) => {
      if (settled) return;
      settled = true;
      resolve(res);
    };
    const r = httpRequest(
      { host: url.hostname.replace(/^\[|\]$/g, ""), port: url.port, method: req.method, path: req.path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        const flat = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : String(v ?? "")]));
        const finish = () => done({ status: res.statusCode ?? 0, headers: flat, body: decompress(Buffer.concat(chunks), flat["content-encoding"]) });
        res.on("data", (c: Buffer) => {
          chunks.push(c);
          // A stream (SSE) never ends by itself: its head is the answer.
          if ((flat["content-type"] ?? "").startsWith("text/event-stream")) {
            finish();
            r.destroy();
          }
        });
        res.on("end", finish);
        res.on("error", (e) =>
          done({ status: res.statusCode ?? 0, headers: flat, body: Buffer.concat(chunks), transportError: `response: ${e.message}` }),
        );
        if ((flat["content-type"] ?? "").startsWith("text/event-stream")) setTimeout(() => (finish(), r.destroy()), 2_000).unref();
      },
    );
    r.setTimeout(timeoutMs, () => {
      done({ status: 0, headers: {}, body: Buffer.alloc(0), transportError: `no answer within ${timeoutMs} ms` });
      r.destroy();
    });
    r.on("error", (e) =>
      done({ status: 0, headers: {}, body: Buffer.alloc(0), transportError: `${(e as NodeJS.ErrnoException).code ?? ""} ${e.message}`.trim() }),
    );
    r.end(req.body);
  });
}

const printable = (body: Buffer | undefined) => {
  if (!body) return {};
  const text = body.toString("utf8");
  if (Buffer.from(text, "utf8").equals(body))
    return body.length > 4096 ? { body: `${text.slice(0, 4096)}…`, bodyBytes: body.length } : { body: text };
  return body.length > 4096
    ? { bodyBase64: body.subarray(0, 4096).toString("base64"), bodyBytes: body.length }
    : { bodyBase64: body.toString("base64") };
};

function findingOf(v: Verdict, req: FuzzRequest, res: FuzzResponse, seed: number): Finding {
  const headers = { ...req.headers };
  if (headers.authorization) headers.authorization = `<${req.token} token>`;
  return {
    ...v,
    index: req.index,
    operationId: req.operationId,
    mutation: req.mutation,
    note: req.note,
    tags: req.tags,
    status: res.status,
    request: { method: req.method, path: req.path, headers, ...printable(req.body), token: req.token },
    response: { status: res.status, headers: res.headers, body: res.body.toString("utf8").slice(0, 2000) },
    reproduce: `npm run fuzz -- --seed ${seed} --index ${req.index}`,
  };
}

export async function runFuzz(doc: OpenApiDocument, world: World, options: FuzzOptions): Promise<FuzzReport> {
  const log = options.log ?? (() => {});
  const concurrency = Math.min(8, Math.max(1, options.concurrency));
  const timeout = options.requestTimeoutMs ?? 60_000;
  const ops = operationsOf(doc);
  const byId = new Map(ops.map((o) => [o.operationId, o]));
  for (const name of options.operations ?? []) if (!byId.has(name)) throw new Error(`No operation ${name} in the OpenAPI document`);
  const generator = new Generator(ops, { doc, world }, options.mutations);
  const codes = errorCodesOf(doc);
  const oracle: OracleContext = { envelopeCodes: codes.envelope, oauthCodes: codes.oauth, secrets: world.secrets };

  let indexes = options.indexes ?? Array.from({ length: options.count }, (_, i) => i);
  if (options.operations) indexes = indexes.filter((i) => options.operations!.includes(generator.operationAt(i).operationId));

  const report: FuzzReport = {
    seed: options.seed,
    baseUrl: options.baseUrl,
    startedAt: new Date().toISOString(),
    durationMs: 0,
    requested: indexes.length,
    requests: 0,
    truncated: false,
    concurrency,
    operations: new Set(indexes.map((i) => generator.operationAt(i).operationId)).size,
    byStatusClass: {},
    byStatus: {},
    perOperation: {},
    perMutation: {},
    providerFailures: 0,
    answeredBeforeFunction: 0,
    counts: { fiveXX: 0, nonEnvelope: 0, leaks: 0, authz: 0, transport: 0, serving: 0, known: 0 },
    findings: [],
    known: [],
  };
  const bump = (t: Record<string, Tally>, key: string, cls: string) => {
    const tally = (t[key] ??= { requests: 0, byClass: {} });
    tally.requests++;
    tally.byClass[cls] = (tally.byClass[cls] ?? 0) + 1;
  };
  const started = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < indexes.length) {
      if (Date.now() - started > options.timeLimitMs) {
        report.truncated = true;
        return;
      }
      const index = indexes[next++]!;
      const req = generator.request(options.seed, index);
      const op = byId.get(req.operationId)!;
      const res = await send(options.baseUrl, req, timeout);
      const cls = classOf(res.status);
      report.requests++;
      report.byStatusClass[cls] = (report.byStatusClass[cls] ?? 0) + 1;
      report.byStatus[String(res.status)] = (report.byStatus[String(res.status)] ?? 0) + 1;
      bump(report.perOperation, req.operationId, cls);
      bump(report.perMutation, req.mutation, cls);
      if (res.status && !res.transportError && !/^req_/.test(res.headers["x-request-id"] ?? "")) report.answeredBeforeFunction++;
      if ((res.status === 502 || res.status === 504) && /"code":"PROVIDER_/.test(res.body.toString("utf8"))) report.providerFailures++;
      if (options.trace) {
        const code = /"(?:code|error)":"([A-Za-z_]+)"/.exec(res.body.subarray(0, 400).toString("utf8"))?.[1];
        options.trace(JSON.stringify({ index, op: req.operationId, mutation: req.mutation, note: req.note.slice(0, 80), status: res.status, code }));
      }
      for (const verdict of judge(op, req, res, oracle)) {
        const finding = findingOf(verdict, req, res, options.seed);
        if (verdict.known) {
          report.known.push(finding);
          report.counts.known++;
          continue;
        }
        report.findings.push(finding);
        const byFunction = ({ "5xx": "fiveXX", "non-envelope": "nonEnvelope", leak: "leaks", authz: "authz", transport: "transport" } as const)[
          verdict.kind
        ];
        const serving = verdict.origin === "serving" && (verdict.kind === "5xx" || verdict.kind === "non-envelope");
        report.counts[serving ? "serving" : byFunction]++;
        log(
          `FINDING #${req.index} ${verdict.kind} ${req.method} ${req.path.slice(0, 120)} (${req.operationId}, ${req.mutation}: ${req.note}): ${verdict.reason}`,
        );
      }
      if (report.requests % 500 === 0) log(`fuzz: ${report.requests}/${indexes.length} requests, ${report.findings.length} findings`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  report.durationMs = Date.now() - started;
  return report;
}

/** True when the run found nothing that fails it (known issues aside). */
export const passed = (report: FuzzReport) => report.findings.length === 0;

/** The report as a few lines for a terminal. */
export function summary(report: FuzzReport): string {
  const c = report.counts;
  const lines = [
    `fuzz: ${report.requests} requests (seed ${report.seed}, ${report.operations} operations, ${report.concurrency} in flight) in ${(report.durationMs / 1000).toFixed(1)} s${report.truncated ? ` — stopped by the time limit before ${report.requested}` : ""}`,
    `  by status class: ${Object.entries(report.byStatusClass)
      .sort()
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
    `  from the functions: 5xx ${c.fiveXX}   non-envelope ${c.nonEnvelope}   leaks ${c.leaks}   authorisation ${c.authz}   dropped/timed out ${c.transport}`,
    `  5xx or non-envelope from the serving in front of the functions: ${c.serving}`,
    `  provider runtime failures (documented 502/504): ${report.providerFailures}   answered before the function: ${report.answeredBeforeFunction}   known issues (not failing): ${c.known}`,
  ];
  const knownIds = new Map<string, number>();
  for (const k of report.known) knownIds.set(k.known!, (knownIds.get(k.known!) ?? 0) + 1);
  for (const [id, n] of knownIds) lines.push(`    known: ${n} × ${id}`);
  const grouped = new Map<string, Finding[]>();
  for (const f of report.findings) {
    const key = `${f.kind} ${f.operationId}: ${f.reason.slice(0, 100)}`;
    grouped.set(key, [...(grouped.get(key) ?? []), f]);
  }
  for (const [key, fs] of grouped)
    lines.push(`  ${fs.length} × ${key}  (e.g. ${fs[0]!.reproduce}: ${fs[0]!.request.method} ${fs[0]!.request.path.slice(0, 100)})`);
  return lines.join("\n");
}

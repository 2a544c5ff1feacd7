import { createWorld } from "../../fuzz/world";
import type { World } from "../../fuzz/model";
import { runFuzz, summary } from "../../fuzz/runner";
import { fetchOpenApi, type OpenApiDocument, operationsOf } from "../../fuzz/spec";
import { BASE_URL } from "../helpers/env";
import { expectError, request } from "../helpers/http";

/**
 * A bounded slice of `npm run fuzz` (docs/fuzz.md): a fixed seed and 2,500 requests over every
 * operation of the OpenAPI document, through the production paths on the base URL. Any 5xx of the
 * API's own, answer outside the error envelope, leak, authorisation failure or dropped request
 * fails it; the failure message lists each finding with the command that draws its request again.
 */
const SEED = 20261202;
const COUNT = 2_500;

describe("the API under fuzzed requests", () => {
  let doc: OpenApiDocument;
  let world: World;

  beforeAll(async () => {
    doc = await fetchOpenApi(BASE_URL);
    world = await createWorld();
  }, 300_000);
  afterAll(() => world?.close());

  it(
    `answers ${COUNT} generated requests (seed ${SEED}) with no 5xx, nothing outside the envelope, no leak`,
    async () => {
      const report = await runFuzz(doc, world, { baseUrl: BASE_URL, seed: SEED, count: COUNT, concurrency: 4, timeLimitMs: 15 * 60_000 });
      const findings = report.findings.map(
        (f) => `${f.kind} #${f.index} ${f.request.method} ${f.request.path.slice(0, 120)} (${f.operationId}, ${f.mutation}: ${f.note}): ${f.reason}`,
      );
      if (findings.length) console.log(summary(report));
      expect(findings).toEqual([]);
      expect(report.truncated).toBe(false);
      expect(report.requests).toBe(COUNT);
      expect(report.operations).toBe(operationsOf(doc).length);
      // The world's credentials reach deep: most operations answered 2xx to something.
      const reached = Object.values(report.perOperation).filter((t) => (t.byClass["2xx"] ?? 0) > 0).length;
      expect(reached).toBeGreaterThan(operationsOf(doc).length / 2);
    },
    20 * 60_000,
  );
});

describe("findings of the fuzzer, fixed", () => {
  // The Functions Framework decoded these paths before the function ran and answered its own HTML
  // 400 (the functions emulator a 500): now the kernel answers them in the envelope.
  it.each([
    ["GET", "/v1/providers/apps/%zz"],
    ["GET", "/v1/space/marketplace/%ff"],
    ["POST", "/v1/providers/capabilities/%ED%A0%80/action"],
    ["PUT", "/v1/providers/runtime/apps/%/credential-secret"],
  ])("answers %s %s (a malformed percent-encoding in the path) with 400 in the envelope", async (method, path) => {
    const error = expectError(await request(method, path), 400, "VALIDATION_ERROR");
    expect(error.message).toContain("percent-encoding");
  });

  it("answers a body that claims Content-Encoding: gzip but is not gzipped in the envelope, not the framework's HTML 400", async () => {
    const res = await request("POST", "/v1/providers/account/login", {
      raw: JSON.stringify({ email: "nobody@example.com", password: "not-the-password-1" }),
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
    });
    expectError(res, 415, "UNSUPPORTED_MEDIA_TYPE");
  });
});

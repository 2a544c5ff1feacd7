import { createWorld } from "../../fuzz/world";
import type { World } from "../../fuzz/model";
import { runFuzz, summary } from "../../fuzz/runner";
import { fetchOpenApi, type OpenApiDocument, operationsOf } from "../../fuzz/spec";
import { BASE_URL } from "../helpers/env";

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

import { Timestamp } from "firebase-admin/firestore";
import { addMs, type Clock, fixedClock } from "../../src/kernel/clock";
import { canonicalJson } from "../../src/kernel/crypto";
import { ERROR_CATALOGUE } from "../../src/kernel/errors";
import { requestFingerprint } from "../../src/kernel/idempotency";
import { INVOCATION_ERROR_CLASSES } from "../../src/domain/capabilities/invocation";
import { cursorId, decodeEventId, encodeEventId } from "../../src/surfaces/capabilities/realtime";
import {
  Assertion,
  deepEqual,
  evaluate,
  type Observation,
  parseJsonPath,
  regexMatches,
  valueAt,
} from "../../src/surfaces/capabilities/sandbox/assertions";
import { ERROR_CODE_OF_CLASS } from "../../src/surfaces/capabilities/service";
import { effectiveTtlSeconds, freshnessAt, MAX_ON_DEMAND_TTL_SECONDS, nextSyncAt } from "../../src/domain/capabilities/state";

describe("capability state TTL (controllable clock)", () => {
  const t0 = new Date("2026-05-01T12:00:00Z");
  const at = (seconds: number): Clock => fixedClock(addMs(t0, seconds * 1000));

  it("bounds the provider's ttlSeconds by the refresh interval, and defaults to it", () => {
    expect(effectiveTtlSeconds(1800, 600)).toBe(600);
    expect(effectiveTtlSeconds(120, 600)).toBe(120);
    expect(effectiveTtlSeconds(undefined, 600)).toBe(600);
    expect(effectiveTtlSeconds(0, 600)).toBe(0);
    expect(effectiveTtlSeconds(59.9, 600)).toBe(59);
    expect(effectiveTtlSeconds(-5, 600)).toBe(0);
    // On-demand capabilities: the provider's TTL, at most a day, or nothing.
    expect(effectiveTtlSeconds(300, 0)).toBe(300);
    expect(effectiveTtlSeconds(10 * 86_400, 0)).toBe(MAX_ON_DEMAND_TTL_SECONDS);
    expect(effectiveTtlSeconds(undefined, 0)).toBe(0);
  });

  it("is fresh until fetchedAt + TTL, then stale; empty without data", () => {
    const state = { fetchedAt: t0, ttlSeconds: 600, invalidatedAt: null };
    expect(freshnessAt(state, at(0).now())).toEqual({ status: "fresh", expiresAt: addMs(t0, 600_000), remainingSeconds: 600 });
    expect(freshnessAt(state, at(599.5).now())).toEqual({ status: "fresh", expiresAt: addMs(t0, 600_000), remainingSeconds: 1 });
    expect(freshnessAt(state, at(600).now())).toEqual({ status: "stale", expiresAt: addMs(t0, 600_000), remainingSeconds: 0 });
    expect(freshnessAt(state, at(7200).now()).status).toBe("stale");
    expect(freshnessAt(null, at(0).now())).toEqual({ status: "empty", expiresAt: null, remainingSeconds: 0 });
    expect(freshnessAt({ fetchedAt: null, ttlSeconds: 0, invalidatedAt: null }, at(0).now()).status).toBe("empty");
    expect(freshnessAt({ fetchedAt: t0, ttlSeconds: 0, invalidatedAt: null }, at(0).now()).status).toBe("stale");
  });

  it("is stale once an action invalidated the data, until it is fetched again", () => {
    expect(freshnessAt({ fetchedAt: t0, ttlSeconds: 600, invalidatedAt: addMs(t0, 10_000) }, at(20).now()).status).toBe("stale");
    // Fetched after the invalidation: fresh again.
    expect(freshnessAt({ fetchedAt: addMs(t0, 30_000), ttlSeconds: 600, invalidatedAt: addMs(t0, 10_000) }, at(40).now()).status).toBe("fresh");
  });

  it("schedules the next sync one interval after a fetch, and backs off after failures", () => {
    const now = at(0).now();
    expect(nextSyncAt({ now, refreshIntervalSeconds: 1800, consecutiveFailures: 0, fetchedAt: now })).toEqual(addMs(t0, 1_800_000));
    expect(nextSyncAt({ now, refreshIntervalSeconds: 1800, consecutiveFailures: 1, fetchedAt: null })).toEqual(addMs(t0, 60_000));
    expect(nextSyncAt({ now, refreshIntervalSeconds: 1800, consecutiveFailures: 2, fetchedAt: null })).toEqual(addMs(t0, 120_000));
    expect(nextSyncAt({ now, refreshIntervalSeconds: 1800, consecutiveFailures: 5, fetchedAt: null })).toEqual(addMs(t0, 960_000));
    expect(nextSyncAt({ now, refreshIntervalSeconds: 1800, consecutiveFailures: 6, fetchedAt: null })).toEqual(addMs(t0, 1_800_000));
    expect(nextSyncAt({ now, refreshIntervalSeconds: 1800, consecutiveFailures: 500, fetchedAt: null })).toEqual(addMs(t0, 1_800_000));
    expect(nextSyncAt({ now, refreshIntervalSeconds: 0, consecutiveFailures: 0, fetchedAt: now })).toBeNull();
  });
});

describe("realtime event ids", () => {
  it("encode the commit time and the document id, and decode back", () => {
    const at = new Timestamp(1_780_000_000, 123_456_000);
    const id = encodeEventId(at, "cev_3ZkQ8bW1mN0pR5sT7vX9");
    expect(id).toBe("1780000000.123456000-cev_3ZkQ8bW1mN0pR5sT7vX9");
    const cursor = decodeEventId(id);
    expect(cursor !== "start" && cursor !== null && cursor.at.isEqual(at) && cursor.id).toBe("cev_3ZkQ8bW1mN0pR5sT7vX9");
    expect(cursorId(cursor!)).toBe(id);
    expect(decodeEventId("0")).toBe("start");
    expect(cursorId("start")).toBe("0");
    for (const bad of [
      "",
      "1",
      "abc-cev_x",
      "1780000000.123-cev_3ZkQ8bW1mN0pR5sT7vX9",
      "1780000000.123456000-evt_3ZkQ8bW1mN0pR5sT7vX9",
      "1780000000.123456000-cev_3ZkQ8bW1mN0pR5sT7vX9\ninjected",
    ]) {
      expect(decodeEventId(bad)).toBeNull();
    }
  });
});

describe("idempotency fingerprints", () => {
  it("are equal for equal requests whatever the key order, and differ otherwise", () => {
    expect(canonicalJson({ b: [1, { d: 2, c: 3 }], a: null, skip: undefined })).toBe('{"a":null,"b":[1,{"c":3,"d":2}]}');
    expect(requestFingerprint({ x: 1, y: { a: "b" } })).toBe(requestFingerprint({ y: { a: "b" }, x: 1 }));
    expect(requestFingerprint({ x: 1 })).not.toBe(requestFingerprint({ x: 2 }));
    expect(requestFingerprint({ x: [1, 2] })).not.toBe(requestFingerprint({ x: [2, 1] }));
  });
});

describe("provider failure classes", () => {
  it("each answer with a documented 4xx/5xx error, never INTERNAL", () => {
    for (const errorClass of INVOCATION_ERROR_CLASSES) {
      const code = ERROR_CODE_OF_CLASS[errorClass];
      expect(code).toBeDefined();
      expect(code).not.toBe("INTERNAL");
      expect([409, 502, 504]).toContain(ERROR_CATALOGUE[code].status);
    }
    expect(ERROR_CODE_OF_CLASS.timeout).toBe("PROVIDER_TIMEOUT");
    expect(ERROR_CODE_OF_CLASS.connection_refused).toBe("PROVIDER_UNREACHABLE");
    expect(ERROR_CODE_OF_CLASS.http_5xx).toBe("PROVIDER_ERROR");
    expect(ERROR_CODE_OF_CLASS.bad_body).toBe("PROVIDER_BAD_RESPONSE");
    expect(ERROR_CODE_OF_CLASS.too_large).toBe("PROVIDER_RESPONSE_TOO_LARGE");
  });
});

describe("sandbox assertion language", () => {
  const body = {
    data: {
      location: "Berlin",
      days: [
        { date: "2026-05-01", highC: 21 },
        { date: "2026-05-02", highC: null },
      ],
      "odd key": true,
    },
    ttlSeconds: 1800,
  };
  const observed = (over: Partial<Observation> = {}): Observation => ({ httpStatus: 200, latencyMs: 120, body, outputProblem: null, ...over });
  const run = (a: Assertion, o = observed()) => evaluate(Assertion.parse(a), 0, o);

  it("parses JSON paths: members, quoted members and indices; nothing else", () => {
    expect(parseJsonPath("$")).toEqual([]);
    expect(parseJsonPath("$.data.days[1].highC")).toEqual(["data", "days", 1, "highC"]);
    expect(parseJsonPath("$.data['odd key']")).toEqual(["data", "odd key"]);
    expect(parseJsonPath('$["a\\"b"]')).toEqual(['a"b']);
    for (const bad of ["data", "$.", "$..a", "$[*]", "$.a[-1]", "$.a[", "$ .a"]) expect(parseJsonPath(bad)).toBeNull();
    expect(valueAt(body, ["data", "days", 5])).toEqual({ found: false });
    expect(valueAt(body, ["data", "days", 1, "highC"])).toEqual({ found: true, value: null });
    expect(valueAt(body, ["data", "location", "length"])).toEqual({ found: false });
    expect(valueAt(body, ["data", "constructor"])).toEqual({ found: false });
  });

  it("compares JSON values deeply", () => {
    expect(deepEqual({ a: [1, { b: null }] }, { a: [1, { b: null }] })).toBe(true);
    expect(deepEqual({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(true);
    expect(deepEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(deepEqual([1, 2], [2, 1])).toBe(false);
    expect(deepEqual("1", 1)).toBe(false);
    expect(deepEqual(null, {})).toBe(false);
  });

  it("judges status and latency", () => {
    expect(run({ type: "status", equals: 200 }).passed).toBe(true);
    expect(run({ type: "status", in: [201, 204] })).toEqual(expect.objectContaining({ passed: false, expected: "status in 201, 204", actual: 200 }));
    expect(run({ type: "status", equals: 200 }, observed({ httpStatus: null })).message).toBe("The runtime did not answer");
    expect(run({ type: "latency", lessThanMs: 121 }).passed).toBe(true);
    expect(run({ type: "latency", lessThanMs: 120 }).passed).toBe(false);
    expect(run({ type: "latency", lessThanMs: 5000 }, observed({ httpStatus: null, latencyMs: 10 })).passed).toBe(false);
  });

  it("judges JSON paths: equals, exists, matches", () => {
    expect(run({ type: "jsonPath", path: "$.data.location", equals: "Berlin" }).passed).toBe(true);
    expect(run({ type: "jsonPath", path: "$.data.days[0]", equals: { highC: 21, date: "2026-05-01" } }).passed).toBe(true);
    expect(run({ type: "jsonPath", path: "$.data.days[1].highC", equals: null }).passed).toBe(true);
    expect(run({ type: "jsonPath", path: "$.data.nothing", equals: null })).toEqual(
      expect.objectContaining({ passed: false, message: "Nothing at this path" }),
    );
    expect(run({ type: "jsonPath", path: "$.data['odd key']", exists: true }).passed).toBe(true);
    expect(run({ type: "jsonPath", path: "$.data.days[2]", exists: false }).passed).toBe(true);
    expect(run({ type: "jsonPath", path: "$.data.days[0].date", matches: "^2026-\\d\\d-\\d\\d$" }).passed).toBe(true);
    expect(run({ type: "jsonPath", path: "$.data.days[0].highC", matches: "^2\\d$" }).passed).toBe(true); // numbers match as JSON
    expect(run({ type: "jsonPath", path: "$.data.location", matches: "^Paris$" }).passed).toBe(false);
    expect(run({ type: "jsonPath", path: "$.data", exists: true }, observed({ body: undefined })).message).toBe("The response body is not JSON");
  });

  it("judges the output schema", () => {
    expect(run({ type: "outputSchema" }).passed).toBe(true);
    expect(run({ type: "outputSchema" }, observed({ outputProblem: "/location must be string" }))).toEqual(
      expect.objectContaining({ passed: false, actual: "/location must be string" }),
    );
  });

  it("refuses malformed assertions", () => {
    for (const bad of [
      { type: "status" },
      { type: "status", equals: 200, in: [200] },
      { type: "status", equals: 99 },
      { type: "latency", lessThanMs: 0 },
      { type: "jsonPath", path: "$.a" },
      { type: "jsonPath", path: "$.a", equals: 1, exists: true },
      { type: "jsonPath", path: "a", exists: true },
      { type: "jsonPath", path: "$.a", matches: "(" },
      { type: "outputSchema", strict: true },
      { type: "eventually" },
    ]) {
      expect(Assertion.safeParse(bad).success).toBe(false);
    }
  });

  it("stops catastrophic patterns after the time limit", () => {
    const started = Date.now();
    expect(regexMatches("^(a+)+$", `${"a".repeat(40)}!`)).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(2000);
    expect(regexMatches("^a+$", "aaa")).toBe(true);
  });
});

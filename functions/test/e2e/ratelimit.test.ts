import { adminDb } from "../helpers/admin";
import { api, type ApiResponse, expectError, expectStatus } from "../helpers/http";
import { createApp, accessToken, oauthProvider } from "../helpers/stories";
import { inOneWindow, inParallel, startSurfaceProcesses, stopSurfaceProcesses } from "../helpers/surfaceProcesses";

const PROBE = "/v1/providers/runtime/apps";

/** `fresh`: the response was just received, so its reset can be compared with the clock. */
function expectLimitHeaders(res: ApiResponse, limit: number, policy: string, fresh = true) {
  expect(res.headers.get("x-ratelimit-limit")).toBe(String(limit));
  const remaining = Number(res.headers.get("x-ratelimit-remaining"));
  const reset = Number(res.headers.get("x-ratelimit-reset"));
  expect(Number.isInteger(remaining) && remaining >= 0 && remaining <= limit).toBe(true);
  // Unix seconds at the end of the current minute.
  expect(reset % 60).toBe(0);
  if (fresh) {
    expect(reset - Date.now() / 1000).toBeGreaterThan(-1);
    expect(reset - Date.now() / 1000).toBeLessThanOrEqual(61);
  }
  expect(res.headers.get("ratelimit-policy")).toBe(`"${policy}";q=${limit};w=60`);
  expect(res.headers.get("ratelimit")).toMatch(new RegExp(`^"${policy}";r=${remaining};t=\\d+$`));
  return { remaining, reset };
}

describe("plan rate limits", () => {
  it("gives a free app's 101st request in a minute 429 RATE_LIMITED with the headers", async () => {
    const { token } = await oauthProvider("Free Co", "free");
    // 101 requests of a new app; run again with another app if they straddled a window boundary.
    const { first, rest, limited, refused } = await inOneWindow(async () => {
      const app = await createApp(token, { name: "Burst" });
      const access = await accessToken(app.client_id, app.client_secret);
      const first = await api.get(PROBE, { token: access });
      const rest = await inParallel(99, 8, () => api.get(PROBE, { token: access }));
      const limited = await api.get(PROBE, { token: access });
      const refused = await api.post(PROBE, { appId: app.id, endpointUrl: "https://x.example" }, { token: access });
      return { responses: [first, ...rest, limited, refused], result: { first, rest, limited, refused } };
    });
    expectStatus(200, first);
    expect(expectLimitHeaders(first, 100, "free", false).remaining).toBe(99);
    for (const res of rest) {
      expectStatus(200, res);
      expectLimitHeaders(res, 100, "free", false);
    }
    // Concurrent requests may see each other's counts; the last one to count sees none left.
    const remainders = rest.map((r) => Number(r.headers.get("x-ratelimit-remaining")));
    expect(Math.min(...remainders)).toBe(0);
    expect(Math.max(...remainders)).toBeLessThanOrEqual(98);

    const error = expectError(limited, 429, "RATE_LIMITED");
    expect(error.message).toMatch(/100 requests per minute/);
    const { remaining, reset } = expectLimitHeaders(limited, 100, "free", false);
    expect(remaining).toBe(0);
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(Number(limited.headers.get("x-ratelimit-reset"))).toBe(reset);
    expectError(refused, 429, "RATE_LIMITED");

    // Limits are per app: another app of the account has its own budget, and console calls count per account.
    const other = await createApp(token, { name: "Other" });
    const otherAccess = await accessToken(other.client_id, other.client_secret);
    const fresh = await api.get(PROBE, { token: otherAccess });
    expectStatus(200, fresh);
    expect(Number(fresh.headers.get("x-ratelimit-remaining"))).toBe(99);
    const consoleCall = await api.get("/v1/providers/apps", { token });
    expectStatus(200, consoleCall);
    expectLimitHeaders(consoleCall, 100, "free");
  }, 180_000); // 101 requests, repeated when they straddle a minute

  it("answers Retry-After consistent with the window's reset", async () => {
    const { access, accountId } = await oauthProvider("Reset Co", "free");
    await adminDb().collection("accounts").doc(accountId).update({ customRateLimitPerMinute: 1 });
    const limited = await inOneWindow(async () => {
      const responses = [await api.get(PROBE, { token: access }), await api.get(PROBE, { token: access })];
      return { responses, result: responses[1]! };
    });
    expectError(limited, 429, "RATE_LIMITED");
    const { reset } = expectLimitHeaders(limited, 1, "free");
    expect(Math.abs(reset - Date.now() / 1000 - Number(limited.headers.get("retry-after")))).toBeLessThanOrEqual(2);
  });

  it("follows the plan tier and a custom limit on the account", async () => {
    const { access, accountId, token } = await oauthProvider("Tiered Co", "pro");
    expectLimitHeaders(await api.get(PROBE, { token: access }), 1000, "pro");
    await adminDb().collection("accounts").doc(accountId).update({ planTier: "enterprise" });
    expectLimitHeaders(await api.get(PROBE, { token: access }), 10000, "enterprise");
    expectLimitHeaders(await api.get("/v1/providers/account", { token }), 10000, "enterprise");

    await adminDb().collection("accounts").doc(accountId).update({ customRateLimitPerMinute: 5 });
    // Six calls of a new app in one window (apps created in the account's limit of 5 too: two at most).
    const results = await inOneWindow(async () => {
      const app = await createApp(token, { name: "Custom" });
      const appAccess = await accessToken(app.client_id, app.client_secret);
      const responses = [];
      for (let i = 0; i < 6; i++) responses.push(await api.get(PROBE, { token: appAccess }));
      return { responses, result: responses };
    }, 2);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(results[5]!.headers.get("x-ratelimit-limit")).toBe("5");
    const me = await api.get("/v1/providers/account", { token });
    expect(me.body.data.rate_limit_per_minute).toBe(5);
  });

  it("limits requests without credentials per client IP, and counts failed authentication there", async () => {
    const res = await api.get("/v1/openapi.json");
    expectStatus(200, res);
    const { remaining } = expectLimitHeaders(res, Number(res.headers.get("x-ratelimit-limit")), "anonymous");
    expect(remaining).toBeGreaterThan(0);
    const unauthenticated = await api.get(PROBE, { token: "garbage" });
    expectError(unauthenticated, 401, "UNAUTHENTICATED");
    expectLimitHeaders(unauthenticated, Number(res.headers.get("x-ratelimit-limit")), "anonymous");
  });

  it("holds across two processes under concurrency, overshooting by at most 1%", async () => {
    const limit = 1000;
    const { access, accountId } = await oauthProvider("Concurrent Co", "free");
    await adminDb().collection("accounts").doc(accountId).update({ customRateLimitPerMinute: limit });
    // The limiters' clock stands still, so all 1,400 requests count in one window however long they take.
    const processes = await startSurfaceProcesses(2, { fixedNow: new Date() });
    try {
      const total = 1400;
      // 16 concurrent clients, alternating between the two processes (two "function instances").
      const statuses = await inParallel(total, 16, async (i) => (await api.get(PROBE, { token: access, baseUrl: processes[i % 2]!.url })).status);
      const allowed = statuses.filter((s) => s === 200).length;
      const limited = statuses.filter((s) => s === 429).length;
      expect(allowed + limited).toBe(total);
      expect(allowed).toBeLessThanOrEqual(limit * 1.01);
      // Tokens stranded in one process's lease when the window fills are few.
      expect(allowed).toBeGreaterThanOrEqual(limit * 0.97);
    } finally {
      stopSurfaceProcesses(processes);
    }
  }, 120_000);
});

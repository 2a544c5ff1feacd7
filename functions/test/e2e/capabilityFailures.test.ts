import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { adminDb } from "../helpers/admin";
import { capabilityPath, type PublishedCapability, publishedWeather } from "../helpers/capabilities";
import { api, type ApiResponse, expectError, expectStatus } from "../helpers/http";
import { invocationsOf, useSampleProvider } from "../helpers/packages";
import type { FailureMode } from "../helpers/sampleProvider";

const sample = useSampleProvider();
const USER = { id: "usr_failure_test" };
/** The capability's deadline: a hanging runtime is cut after it. */
const DEADLINE_MS = 2000;

/**
 * Every way a provider runtime can fail an invocation: each answers its own documented error (never a
 * 500 of ours) and is recorded in the history with its class.
 */
describe("capabilities: provider failure modes", () => {
  let w: PublishedCapability;
  const RT = () => `/v1/providers/runtime/apps/${w.runtimeAppId}`;
  const invoke = () => api.post(capabilityPath(w.ref, "invoke"), { user: USER, parameters: { location: "Berlin", days: 2 } }, { token: w.access });

  /** Asserts the error and its invocation record; returns the record. */
  async function expectRecordedFailure(res: ApiResponse, status: number, code: string, errorClass: string): Promise<Record<string, any>> {
    const error = expectError(res, status, code);
    const match = new RegExp(`\\(${errorClass}; invocation (inv_[0-9A-Za-z]{20})\\)$`).exec(error.message);
    expect(match).not.toBeNull();
    const record = (await adminDb().collection("invocations").doc(match![1]!).get()).data() as Record<string, any>;
    expect(record).toEqual(
      expect.objectContaining({
        status: "error",
        errorClass,
        bindingId: null,
        capabilityRef: w.ref,
        source: "api",
        errorMessage: expect.any(String),
      }),
    );
    const history = await api.get(`${capabilityPath(w.ref, "history")}?limit=1`, { token: w.access });
    expect(history.body.data[0]).toEqual(expect.objectContaining({ id: match![1], status: "error", errorClass }));
    return { ...record, message: error.message };
  }

  const withFailure = async (mode: FailureMode, run: () => Promise<void>, delayMs = 0) => {
    sample().setFailure(mode, delayMs);
    try {
      await run();
    } finally {
      sample().setFailure("none");
    }
  };

  beforeAll(async () => {
    w = await publishedWeather(sample(), { deadlineMs: DEADLINE_MS });
  }, 180_000);
  beforeEach(() => sample().reset());

  it("answers 504 PROVIDER_TIMEOUT when the runtime hangs, after the capability's deadline", async () => {
    await withFailure("hang", async () => {
      const started = Date.now();
      const res = await invoke();
      const elapsed = Date.now() - started;
      const record = await expectRecordedFailure(res, 504, "PROVIDER_TIMEOUT", "timeout");
      expect(record.message).toMatch(new RegExp(`deadline of ${DEADLINE_MS} ms`));
      expect(record.httpStatus).toBeNull();
      expect(record.latencyMs).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
      expect(record.latencyMs).toBeLessThan(DEADLINE_MS + 2500);
      expect(elapsed).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
      expect(invocationsOf(sample())).toHaveLength(1);
    });
  });

  it("answers a slow runtime that finishes within the deadline", async () => {
    await withFailure(
      "slow",
      async () => {
        const res = await invoke();
        expectStatus(200, res);
        expect(res.body.data.latencyMs).toBeGreaterThanOrEqual(1200);
      },
      1200,
    );
  });

  it("answers 502 PROVIDER_ERROR for a 5xx, with the runtime's status recorded", async () => {
    await withFailure("error_500", async () => {
      const record = await expectRecordedFailure(await invoke(), 502, "PROVIDER_ERROR", "http_5xx");
      expect(record.httpStatus).toBe(500);
      expect(record.responseBytes).toBeGreaterThan(0);
    });
  });

  it("answers 502 PROVIDER_ERROR for a 4xx (the runtime refused our request)", async () => {
    // The sample runtime answers 404 for paths it does not serve: move the endpoint below one.
    expectStatus(200, await api.patch(RT(), { endpointUrl: `${sample().url}/nowhere` }, { token: w.access }));
    try {
      const record = await expectRecordedFailure(await invoke(), 502, "PROVIDER_ERROR", "http_4xx");
      expect(record.httpStatus).toBe(404);
    } finally {
      expectStatus(200, await api.patch(RT(), { endpointUrl: sample().url }, { token: w.access }));
    }
  });

  it("answers 502 PROVIDER_BAD_RESPONSE for a body that is not JSON", async () => {
    await withFailure("malformed", async () => {
      const record = await expectRecordedFailure(await invoke(), 502, "PROVIDER_BAD_RESPONSE", "bad_body");
      expect(record.message).toMatch(/not valid JSON/);
      expect(record.httpStatus).toBe(200);
    });
  });

  it("answers 502 PROVIDER_BAD_RESPONSE when the data breaks the capability's output schema", async () => {
    await withFailure("invalid_output", async () => {
      const record = await expectRecordedFailure(await invoke(), 502, "PROVIDER_BAD_RESPONSE", "output_invalid");
      expect(record.message).toMatch(/outputSchema: \/location must be string/);
    });
  });

  it("answers 502 PROVIDER_BAD_RESPONSE for a redirect, which is never followed", async () => {
    await withFailure("redirect", async () => {
      const record = await expectRecordedFailure(await invoke(), 502, "PROVIDER_BAD_RESPONSE", "bad_body");
      expect(record.message).toMatch(/HTTP 302 \(redirects are not followed\)/);
    });
  });

  it("answers 502 PROVIDER_RESPONSE_TOO_LARGE for a 10 MB answer, without reading it all", async () => {
    await withFailure("huge", async () => {
      const started = Date.now();
      const record = await expectRecordedFailure(await invoke(), 502, "PROVIDER_RESPONSE_TOO_LARGE", "too_large");
      expect(record.message).toMatch(/exceeds 1 MiB/);
      expect(record.responseBytes).toBe(1024 * 1024);
      expect(Date.now() - started).toBeLessThan(DEADLINE_MS + 3000);
    });
  });

  it("answers 502 PROVIDER_UNREACHABLE when the connection is refused", async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    expectStatus(200, await api.patch(RT(), { endpointUrl: `http://127.0.0.1:${port}` }, { token: w.access }));
    try {
      const record = await expectRecordedFailure(await invoke(), 502, "PROVIDER_UNREACHABLE", "connection_refused");
      expect(record.message).toMatch(/Connection refused/);
    } finally {
      expectStatus(200, await api.patch(RT(), { endpointUrl: sample().url }, { token: w.access }));
    }
  });

  it("answers 502 PROVIDER_UNREACHABLE when the endpoint's name does not resolve", async () => {
    // `.invalid` is reserved (RFC 2606): it never resolves, with or without a network.
    expectStatus(200, await api.patch(RT(), { endpointUrl: "https://runtime.does-not-exist.invalid" }, { token: w.access }));
    try {
      const record = await expectRecordedFailure(await invoke(), 502, "PROVIDER_UNREACHABLE", "network");
      expect(record.message).toMatch(/runtime\.does-not-exist\.invalid failed \(ENOTFOUND\)/);
    } finally {
      expectStatus(200, await api.patch(RT(), { endpointUrl: sample().url }, { token: w.access }));
    }
  });

  it("answers 502 PROVIDER_AUTH_FAILED when the runtime refuses our credentials, or its token URL fails", async () => {
    const profile = (body: Record<string, unknown>) => api.put(`${RT()}/auth-profile`, body, { token: w.access });
    try {
      expectStatus(200, await profile({ type: "api_key", headerName: sample().config.apiKeyHeader, value: "not-the-key-000000" }));
      const refused = await expectRecordedFailure(await invoke(), 502, "PROVIDER_AUTH_FAILED", "auth_failed");
      expect(refused.httpStatus).toBe(401);

      expectStatus(
        200,
        await profile({
          type: "oauth2",
          tokenUrl: `${sample().url}/oauth/token`,
          clientId: sample().config.oauthClientId,
          clientSecret: "wrong-secret-0000",
        }),
      );
      const tokenFailed = await expectRecordedFailure(await invoke(), 502, "PROVIDER_AUTH_FAILED", "auth_failed");
      expect(tokenFailed.message).toMatch(/token URL failed.*401/);
      expect(invocationsOf(sample())).toHaveLength(1); // the runtime itself was only called with the wrong key

      // With the right secret, the platform fetches a token and calls the runtime with it.
      expectStatus(
        200,
        await profile({
          type: "oauth2",
          tokenUrl: `${sample().url}/oauth/token`,
          clientId: sample().config.oauthClientId,
          clientSecret: sample().config.oauthClientSecret,
        }),
      );
      expectStatus(200, await invoke());
      expect(invocationsOf(sample()).at(-1)!.auth).toBe("oauth2");
    } finally {
      expectStatus(200, await profile({ type: "api_key", headerName: sample().config.apiKeyHeader, value: sample().config.apiKey }));
    }
  });

  it.each([
    ["a private address (RFC 1918)", "https://10.20.30.40", /10\.20\.30\.40 is private \(RFC 1918\)/],
    ["an IPv4-mapped IPv6 private address", "https://[::ffff:10.20.30.40]", /::ffff:a14:1e28 is private \(RFC 1918\)/],
    ["the metadata service address", "https://169.254.169.254", /the cloud metadata service/],
    ["a CGNAT address", "https://100.64.1.2:8443", /CGNAT/],
    ["a unique local IPv6 address", "https://[fd00::1]", /unique local/],
  ])("refuses to call a runtime endpoint at %s: 409 RUNTIME_ENDPOINT_REJECTED, nothing sent", async (_what, endpointUrl, reason) => {
    // Registration accepts these URLs (https); the address rules apply when the platform calls out.
    expectStatus(200, await api.patch(RT(), { endpointUrl }, { token: w.access }));
    try {
      const record = await expectRecordedFailure(await invoke(), 409, "RUNTIME_ENDPOINT_REJECTED", "url_rejected");
      expect(record.message).toMatch(reason);
      expect(record.latencyMs).toBeLessThan(1000);
    } finally {
      expectStatus(200, await api.patch(RT(), { endpointUrl: sample().url }, { token: w.access }));
    }
  });

  it("refuses an OAuth token URL at a private address the same way", async () => {
    const profile = (body: Record<string, unknown>) => api.put(`${RT()}/auth-profile`, body, { token: w.access });
    expectStatus(
      200,
      await profile({ type: "oauth2", tokenUrl: "https://192.168.10.1/oauth/token", clientId: "aiffinity", clientSecret: "whatever-000000" }),
    );
    try {
      const record = await expectRecordedFailure(await invoke(), 409, "RUNTIME_ENDPOINT_REJECTED", "url_rejected");
      expect(record.message).toMatch(/token URL is not an allowed target.*192\.168\.10\.1 is private/);
      expect(sample().requests).toHaveLength(0);
    } finally {
      expectStatus(200, await profile({ type: "api_key", headerName: sample().config.apiKeyHeader, value: sample().config.apiKey }));
    }
  });

  it("still reaches loopback runtimes on the emulators", async () => {
    expectStatus(200, await api.patch(RT(), { endpointUrl: sample().url.replace("127.0.0.1", "localhost") }, { token: w.access }));
    try {
      expectStatus(200, await invoke());
    } finally {
      expectStatus(200, await api.patch(RT(), { endpointUrl: sample().url }, { token: w.access }));
    }
  });
});

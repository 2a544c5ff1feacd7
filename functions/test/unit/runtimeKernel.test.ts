import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import { type AddressInfo } from "node:net";
import { decodeProtectedHeader } from "jose";
import { issueAccessToken, InvalidAccessToken, verifyAccessToken } from "../../src/kernel/auth/accessTokens";
import { type Clock, fixedClock } from "../../src/kernel/clock";
import { jsonSchemaProblem } from "../../src/kernel/jsonSchema";
import { outbound, outboundOk } from "../../src/kernel/outbound";
import { granted, maxLease, type QuotaStore, RateLimiter, shardCount, shardQuota } from "../../src/kernel/http/rateLimit";
import { open, seal, secretHint } from "../../src/kernel/secretBox";
import { SigningKeyConfigError, SigningKeySet } from "../../src/kernel/auth/signingKeys";
import { newSigningSecret, signature, signedHeaders, signingKeyBytes, verifySignature } from "../../src/kernel/standardWebhooks";
import { retryDelayMs } from "../../src/domain/runtime/webhookDelivery";

process.env.PUBLIC_BASE_URL ??= "https://api.test.example";
const HOUR = 3_600_000;
const pem = () => generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();

describe("signing keys and access tokens (rotation)", () => {
  const [keyA, keyB] = [pem(), pem()];
  const app = { id: "app_unit000000000000000", accountId: "acct_1", clientId: "prov_unit" };
  const t0 = new Date("2026-03-01T10:00:00Z");
  const at = (ms: number): Clock => fixedClock(new Date(t0.getTime() + ms));

  it("signs with the first key that is not retired and verifies with any listed key", async () => {
    const before = await SigningKeySet.parse(JSON.stringify([{ kid: "a", pem: keyA }]), HOUR);
    const { token } = await issueAccessToken(app, at(0), before);
    expect(decodeProtectedHeader(token).kid).toBe("a");

    // Step 1 of a rotation: b is published (verifies) but a still signs.
    const staged = await SigningKeySet.parse(
      JSON.stringify([
        { kid: "a", pem: keyA },
        { kid: "b", pem: keyB },
      ]),
      HOUR,
    );
    expect(staged.signer.kid).toBe("a");
    expect(staged.jwks(t0).keys.map((k) => k.kid)).toEqual(["a", "b"]);

    // Step 2: b signs, a is retired; a's tokens verify until they expire.
    const rotated = await SigningKeySet.parse(
      JSON.stringify([
        { kid: "b", pem: keyB },
        { kid: "a", pem: keyA, retiredAt: new Date(t0.getTime() + 60_000).toISOString() },
      ]),
      HOUR,
    );
    expect(rotated.signer.kid).toBe("b");
    const claims = await verifyAccessToken(token, at(30 * 60_000), rotated);
    expect(claims).toEqual(expect.objectContaining({ appId: app.id, accountId: "acct_1", clientId: "prov_unit" }));
    const fresh = await issueAccessToken(app, at(2 * 60_000), rotated);
    expect(decodeProtectedHeader(fresh.token).kid).toBe("b");
    await expect(verifyAccessToken(fresh.token, at(3 * 60_000), rotated)).resolves.toEqual(expect.objectContaining({ appId: app.id }));

    // The old token's own expiry applies.
    await expect(verifyAccessToken(token, at(HOUR + 60_000), rotated)).rejects.toEqual(
      new InvalidAccessToken("Access token has expired; request a new one", true),
    );
    // After retiredAt + TTL the retired key leaves the JWKS.
    expect(rotated.jwks(new Date(t0.getTime() + 60_000 + HOUR)).keys.map((k) => k.kid)).toEqual(["b"]);
    // Step 3: a removed: its tokens are refused as signed by an unknown key.
    const done = await SigningKeySet.parse(JSON.stringify([{ kid: "b", pem: keyB }]), HOUR);
    await expect(verifyAccessToken(token, at(10 * 60_000), done)).rejects.toThrow("unknown key");
  });

  it("refuses a retired key's token issued after its retirement", async () => {
    const retiredAt = new Date(t0.getTime() + 60_000);
    const forgedLater = await SigningKeySet.parse(JSON.stringify([{ kid: "a", pem: keyA }]), HOUR);
    const { token } = await issueAccessToken(app, at(5 * 60_000), forgedLater);
    const rotated = await SigningKeySet.parse(
      JSON.stringify([
        { kid: "b", pem: keyB },
        { kid: "a", pem: keyA, retiredAt: retiredAt.toISOString() },
      ]),
      HOUR,
    );
    await expect(verifyAccessToken(token, at(6 * 60_000), rotated)).rejects.toThrow("retired key");
  });

  it("rejects unusable key configurations with a clear error", async () => {
    const bad: [string, RegExp][] = [
      ["not json", /not valid JSON/],
      ["[]", /invalid/],
      [
        JSON.stringify([
          { kid: "a", pem: keyA },
          { kid: "a", pem: keyB },
        ]),
        /duplicate kid a/,
      ],
      [JSON.stringify([{ kid: "a", pem: "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----" + "x".repeat(80) }]), /not a readable PEM/],
      [JSON.stringify([{ kid: "a", pem: keyA, retiredAt: t0.toISOString() }]), /no active key/],
      [
        JSON.stringify([
          { kid: "ec", pem: generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString() },
        ]),
        /RSA key/,
      ],
    ];
    for (const [secret, message] of bad) {
      const error = await SigningKeySet.parse(secret, HOUR).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SigningKeyConfigError);
      expect((error as Error).message).toMatch(message);
    }
  });
});

describe("rate limiter (in-memory store, many instances)", () => {
  /** A store with the same semantics as Firestore's increment-then-read, with random interleaving. */
  const memoryStore = (): QuotaStore & { counts: Map<string, number> } => {
    const counts = new Map<string, number>();
    const tick = () => new Promise((r) => setTimeout(r, Math.random() * 3));
    return {
      counts,
      async add(docId, want) {
        await tick();
        counts.set(docId, (counts.get(docId) ?? 0) + want);
        await tick();
        return counts.get(docId)!;
      },
    };
  };
  const clockAt = (ms: number) => ({ now: () => new Date(ms) });

  it("never admits more than the limit across instances, and admits nearly all of it", async () => {
    for (const limit of [100, 1000, 10_000]) {
      const store = memoryStore();
      const clock = clockAt(Date.UTC(2026, 0, 1, 12, 0, 5));
      const instances = Array.from({ length: 5 }, () => new RateLimiter(clock, store));
      const total = Math.round(limit * 1.3);
      let allowed = 0;
      let next = 0;
      await Promise.all(
        Array.from({ length: 40 }, async (_, worker) => {
          while (next < total) {
            next++;
            if ((await instances[worker % instances.length]!.take("app:x", limit)).allowed) allowed++;
          }
        }),
      );
      expect(allowed).toBeLessThanOrEqual(limit);
      expect(allowed).toBeGreaterThanOrEqual(limit * 0.95);
    }
  });

  it("starts a fresh window each minute and reports the reset time", async () => {
    const store = memoryStore();
    let now = Date.UTC(2026, 0, 1, 12, 0, 59, 500);
    const limiter = new RateLimiter({ now: () => new Date(now) }, store);
    for (let i = 0; i < 3; i++) expect((await limiter.take("k", 3)).allowed).toBe(true);
    const denied = await limiter.take("k", 3);
    expect(denied).toEqual({ allowed: false, limit: 3, remaining: 0, resetAtMs: Date.UTC(2026, 0, 1, 12, 1, 0) });
    now += 600;
    const fresh = await limiter.take("k", 3);
    expect(fresh).toEqual({ allowed: true, limit: 3, remaining: 2, resetAtMs: Date.UTC(2026, 0, 1, 12, 2, 0) });
    expect((await limiter.take("other", 3)).remaining).toBe(2); // keys are independent
  });

  it("sizes shards and leases so no document takes much more than one write per second", () => {
    expect([100, 1000, 10_000].map(shardCount)).toEqual([1, 2, 16]);
    expect([100, 1000, 10_000].map(maxLease)).toEqual([1, 10, 100]);
    // Leases per second at full load, per shard document.
    for (const limit of [100, 1000, 10_000]) expect(limit / 60 / maxLease(limit) / shardCount(limit)).toBeLessThanOrEqual(1.7);
    expect(Array.from({ length: 16 }, (_, i) => shardQuota(10_000, 16, i)).reduce((a, b) => a + b)).toBe(10_000);
    expect(granted(10, 3, 9)).toBe(3);
    expect(granted(10, 3, 11)).toBe(2);
    expect(granted(10, 3, 14)).toBe(0);
  });
});

describe("webhook retries", () => {
  const policy = { maxAttempts: 8, initialDelaySeconds: 30, maxDelaySeconds: 3600 };
  it("backs off exponentially, capped, with jitter between half and all of the delay", () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(policy, n, () => 1))).toEqual([30_000, 60_000, 120_000, 240_000]);
    expect([1, 2, 3].map((n) => retryDelayMs(policy, n, () => 0))).toEqual([15_000, 30_000, 60_000]);
    expect(retryDelayMs(policy, 10, () => 1)).toBe(3_600_000);
  });
});

describe("Standard Webhooks signatures", () => {
  it("matches the specification's example", () => {
    // The example of the Standard Webhooks specification.
    const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    expect(signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}')).toBe(
      "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    );
  });

  it("signs with every secret and verifies within the tolerance only", () => {
    const [a, b] = [newSigningSecret(), newSigningSecret(24)];
    expect(signingKeyBytes(a)).toHaveLength(32);
    expect(signingKeyBytes(b)).toHaveLength(24);
    expect(signingKeyBytes(`whsec_${randomBytes(16).toString("base64")}`)).toBeNull();
    expect(signingKeyBytes(`whsec_${randomBytes(65).toString("base64")}`)).toBeNull();
    expect(signingKeyBytes("secret_abc")).toBeNull();
    const now = 1_800_000_000;
    const headers = signedHeaders([a, b], "msg_1", now, "{}");
    expect(headers["webhook-signature"].split(" ")).toHaveLength(2);
    const h = { id: "msg_1", timestamp: headers["webhook-timestamp"], signature: headers["webhook-signature"] };
    expect(verifySignature(a, h, "{}", now)).toBe(true);
    expect(verifySignature(b, h, "{}", now + 299)).toBe(true);
    expect(verifySignature(a, h, "{}", now + 301)).toBe(false);
    expect(verifySignature(a, h, '{"x":1}', now)).toBe(false);
    expect(verifySignature(newSigningSecret(), h, "{}", now)).toBe(false);
  });
});

describe("secret box (AES-256-GCM)", () => {
  const key = randomBytes(32);
  it("round-trips, and refuses another context, another key or a tampered value", () => {
    const sealed = seal("s3cr3t-value", "runtimeApps/rt_1/x", key);
    expect(sealed).toMatch(/^v1\./);
    expect(sealed).not.toContain("s3cr3t");
    expect(open(sealed, "runtimeApps/rt_1/x", key)).toBe("s3cr3t-value");
    expect(seal("s3cr3t-value", "runtimeApps/rt_1/x", key)).not.toBe(sealed); // fresh IV each time
    expect(() => open(sealed, "runtimeApps/rt_2/x", key)).toThrow("does not decrypt");
    expect(() => open(sealed, "runtimeApps/rt_1/x", randomBytes(32))).toThrow("does not decrypt");
    const parts = sealed.split(".");
    parts[3] = Buffer.from("tampered").toString("base64url");
    expect(() => open(parts.join("."), "runtimeApps/rt_1/x", key)).toThrow("does not decrypt");
    expect(secretHint("abcdefghijklmnop1234")).toBe("****1234");
    expect(secretHint("short")).toBe("****");
  });
});

describe("JSON Schema checks", () => {
  it("accepts valid draft 2020-12 schemas and explains invalid ones", () => {
    expect(jsonSchemaProblem({ type: "object", properties: { a: { type: "string" } }, required: ["a"] })).toBeNull();
    expect(jsonSchemaProblem({ type: "nope" })).toMatch(/^Not a valid JSON Schema/);
    expect(jsonSchemaProblem({ $ref: "#/$defs/x" })).toMatch(/^Not a usable JSON Schema/);
    expect(jsonSchemaProblem([])).toBe("Must be a JSON Schema object");
  });
});

describe("outbound calls", () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === "/ok") {
        res.end(JSON.stringify({ ok: true }));
        return;
      }
      if (req.url === "/redirect") {
        res.writeHead(302, { location: "http://127.0.0.1:1/elsewhere" }).end();
        return;
      }
      if (req.url === "/big") {
        res.end("x".repeat(2048));
        return;
      }
      if (req.url === "/text") {
        res.end("not json");
        return;
      }
      if (req.url === "/500") {
        res.writeHead(500).end();
        return;
      }
      // /hang: never answers
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it("reads bodies, never follows redirects and classifies every failure", async () => {
    const ok = await outbound({ url: `${base}/ok` });
    expect(ok.json()).toEqual({ ok: true });
    expect((await outbound({ url: `${base}/redirect` })).status).toBe(302);
    await expect(outboundOk({ url: `${base}/redirect` })).rejects.toMatchObject({ kind: "http_status", status: 302 });
    await expect(outboundOk({ url: `${base}/500` })).rejects.toMatchObject({ kind: "http_status", status: 500 });
    await expect(outbound({ url: `${base}/big`, maxResponseBytes: 1024 })).rejects.toMatchObject({ kind: "too_large" });
    await expect((await outbound({ url: `${base}/text` })).json).toThrow("not valid JSON");
    const started = Date.now();
    await expect(outbound({ url: `${base}/hang`, timeoutMs: 300 })).rejects.toMatchObject({ kind: "timeout" });
    expect(Date.now() - started).toBeLessThan(2000);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await expect(outbound({ url: `http://127.0.0.1:${closedPort}/` })).rejects.toMatchObject({ kind: "connection_refused" });
    await expect(outbound({ url: "http://example.com/" })).rejects.toMatchObject({ kind: "url_rejected" });
    await expect(outbound({ url: "file:///etc/passwd" })).rejects.toMatchObject({ kind: "url_rejected" });
  });
});

describe("outbound calls: a connection reset after the request was sent", () => {
  let server: Server;
  let base: string;
  /** Every request the server read: its method, path and Idempotency-Key. */
  const received: { path: string; key: string | undefined }[] = [];
  beforeAll(async () => {
    // Answers /ok normally on a kept-alive connection; /reset is read in full, then the connection is reset.
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        received.push({ path: req.url ?? "", key: req.headers["idempotency-key"] as string | undefined });
        if (req.url === "/reset") req.socket.resetAndDestroy();
        else res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
      });
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });
  beforeEach(() => {
    received.length = 0;
  });

  it("never resends a POST that may have arrived, and says the outcome is unknown", async () => {
    await outbound({ url: `${base}/ok`, method: "POST", body: "{}" }); // leaves a pooled connection to reuse
    const failure = outbound({ url: `${base}/reset`, method: "POST", body: "{}", headers: { "idempotency-key": "k1" } });
    await expect(failure).rejects.toMatchObject({ kind: "network", message: expect.stringMatching(/outcome unknown/) });
    expect(received.filter((r) => r.path === "/reset")).toHaveLength(1);
  });

  it("resends a resendable request once after a reset on a reused connection, with the same key", async () => {
    await outbound({ url: `${base}/ok`, method: "POST", body: "{}" });
    const failure = outbound({ url: `${base}/reset`, method: "POST", body: "{}", headers: { "idempotency-key": "k2" }, resendable: true });
    // The resend is reset too: still not "connection refused", and still unknown.
    await expect(failure).rejects.toMatchObject({ kind: "network", message: expect.stringMatching(/resent after a reset.*outcome unknown/) });
    const resets = received.filter((r) => r.path === "/reset");
    expect(resets).toHaveLength(2);
    expect(resets.map((r) => r.key)).toEqual(["k2", "k2"]);
  });
});

import { createRuntime, listen, type Listening } from "@aiffinity/provider-sdk";
import { Aiffinity, AiffinityError, type Session } from "@aiffinity/sdk";
import { BASE_URL, CAPABILITIES_URL, endUser, PASSWORD, uniqueEmail, uniqueSlug, verificationToken } from "../support/stack";

/**
 * The SDK against the running stack, as a provider's tools and a console use it: sessions and their
 * refresh, client credentials, errors, pagination, Idempotency-Key on POSTs, and the realtime stream
 * resumed after a lost connection. The provider's runtime is one made with the provider SDK.
 */

/** Every request the SDK sent, as it left (headers included). */
const sent: Request[] = [];
const recording = (request: Request) => {
  sent.push(request.clone());
  return fetch(request);
};

const email = uniqueEmail("sdk");
const sessions: (Session | null)[] = [];
let console: Aiffinity;
let runtime: Listening;
let ref: string;
let app: { clientId: string; clientSecret: string };
let bindingId: string;

const weather = {
  id: "forecast",
  name: "Forecast",
  description: "Tomorrow's weather, for a city.",
  inputSchema: { type: "object", properties: { city: { type: "string", minLength: 1 } }, required: ["city"] },
  outputSchema: { type: "object", required: ["city", "highC"], properties: { city: { type: "string" }, highC: { type: "number" } } },
  refreshIntervalSeconds: 1800,
  deadlineMs: 3000,
  sampleInput: { city: "Berlin" },
  dataCategories: ["public" as const],
  actions: [],
  scopes: [],
};

let calls = 0;

beforeAll(async () => {
  // A provider runtime made with the provider SDK: what the platform calls.
  const provider = createRuntime({ auth: { type: "api_key", headerName: "x-api-key", value: "sdk-test-runtime-key-0123456789" }, version: "2.0.0" });
  provider.capability<{ city: string }, { city: string; highC: number }>("forecast", { inputSchema: weather.inputSchema, outputSchema: weather.outputSchema }, ({ parameters }) => ({
    data: { city: parameters.city, highC: 10 + (calls++ % 10) },
    ttlSeconds: 60,
  }));
  runtime = await listen(provider, { port: 0 });
});

afterAll(() => runtime?.close());

describe("the SDK", () => {
  it("signs a developer up and in, and keeps the session fresh", async () => {
    const anonymous = new Aiffinity({ baseUrl: BASE_URL, fetch: recording });
    const account = await anonymous.post("/v1/providers/account", { body: { company_name: "SDK Weather Ltd", email, password: PASSWORD } });
    expect(account).toEqual(expect.objectContaining({ email, status: "pending_verification" }));
    await anonymous.post("/v1/providers/account/verify", { body: { token: await verificationToken(email) } });
    expect(sent.every((r) => !r.headers.has("authorization"))).toBe(true); // public routes get no credentials

    console = new Aiffinity({ baseUrl: BASE_URL, fetch: recording, onSessionChange: (s) => sessions.push(s) });
    const session = await console.login(email, PASSWORD);
    expect(session).toEqual({ idToken: expect.any(String), refreshToken: expect.any(String), expiresAt: expect.any(Number), accountId: account.id });
    expect(sessions).toEqual([session]);
    expect((await console.get("/v1/providers/account")).status).toBe("active");

    // A stored session about to expire is refreshed before the call, and the new one is handed back to be stored.
    const restored = new Aiffinity({ baseUrl: BASE_URL, session: { ...session, expiresAt: Date.now() + 1000 }, onSessionChange: (s) => sessions.push(s) });
    expect((await restored.get("/v1/providers/account")).id).toBe(account.id);
    expect(sessions).toHaveLength(2);
    expect(sessions[1]!.refreshToken).toEqual(expect.any(String));
    // One the API refuses (revoked, or the clock is off) is refreshed once, and the call goes through.
    const refused = new Aiffinity({ baseUrl: BASE_URL, session: { ...session, idToken: `${session.idToken.slice(0, -4)}AAAA` }, onSessionChange: (s) => sessions.push(s) });
    expect((await refused.get("/v1/providers/account")).id).toBe(account.id);
    expect(sessions).toHaveLength(3);
  });

  it("answers every failure as one typed error", async () => {
    const missing = await console.get("/v1/providers/apps/{id}", { params: { path: { id: "app_00000000000000000000" } } }).catch((e) => e);
    expect(missing).toBeInstanceOf(AiffinityError);
    expect(missing).toEqual(expect.objectContaining({ status: 404, code: "NOT_FOUND", requestId: expect.stringMatching(/^req_/) }));

    const invalid = await console.post("/v1/providers/apps", { body: { name: "" } }).catch((e) => e);
    expect(invalid).toEqual(expect.objectContaining({ status: 400, code: "VALIDATION_ERROR", details: [expect.objectContaining({ field: "name" })] }));

    const oauth = await new Aiffinity({ baseUrl: BASE_URL, clientCredentials: { clientId: "prov_nobody", clientSecret: "secret_wrong" } }).get("/v1/providers/runtime/apps").catch((e) => e);
    expect(oauth).toEqual(expect.objectContaining({ status: 401, code: "invalid_client" }));

    const unsigned = await new Aiffinity({ baseUrl: BASE_URL }).get("/v1/providers/apps").catch((e) => e);
    expect(unsigned).toEqual(expect.objectContaining({ status: 0, code: "CLIENT_CONFIGURATION" }));

    const down = await new Aiffinity({ baseUrl: "http://127.0.0.1:9", retry: false }).get("/v1/openapi.json").catch((e) => e);
    expect(down).toEqual(expect.objectContaining({ status: 0, code: "NETWORK_ERROR" }));
  });

  it("sends an Idempotency-Key with every authenticated POST, and walks paginated lists", async () => {
    sent.length = 0;
    const created = [];
    for (const name of ["Alpha", "Beta", "Gamma"]) created.push(await console.post("/v1/providers/apps", { body: { name } }));
    const posts = sent.filter((r) => r.method === "POST" && r.url.endsWith("/v1/providers/apps"));
    expect(posts).toHaveLength(3);
    const keys = posts.map((r) => r.headers.get("idempotency-key"));
    expect(keys.every((k) => /^[0-9a-f-]{36}$/.test(k!))).toBe(true);
    expect(new Set(keys).size).toBe(3);
    expect(sent.filter((r) => r.method === "GET").every((r) => !r.headers.has("idempotency-key"))).toBe(true);

    const page = await console.list("/v1/providers/apps", { params: { query: { limit: 2 } } });
    expect(page.pagination).toEqual({ total: 3, limit: 2, offset: 0, hasMore: true });
    sent.length = 0;
    const names: string[] = [];
    for await (const a of console.paginate("/v1/providers/apps", { params: { query: { limit: 1 } } })) names.push(a.name);
    expect(names.sort()).toEqual(["Alpha", "Beta", "Gamma"]);
    expect(sent.filter((r) => r.url.includes("/v1/providers/apps?"))).toHaveLength(3);
    app = { clientId: created[0]!.client_id, clientSecret: created[0]!.client_secret };
  });

  it("acts as an app with client credentials: one token, renewed when refused", async () => {
    sent.length = 0;
    let spoil = true;
    const provider = new Aiffinity({
      baseUrl: BASE_URL,
      clientCredentials: app,
      fetch: (request) => {
        // The first call with a token presents a broken one, as if it had been revoked.
        if (spoil && request.url.includes("/runtime/") && request.headers.has("authorization")) {
          spoil = false;
          const broken = new Request(request);
          broken.headers.set("authorization", "Bearer not-a-token");
          return recording(broken);
        }
        return recording(request);
      },
    });
    const rt = await provider.post("/v1/providers/runtime/apps", { body: { appId: await appIdOf(app.clientId), endpointUrl: runtime.url } });
    await provider.put("/v1/providers/runtime/apps/{id}/auth-profile", { params: { path: { id: rt.id } }, body: { type: "api_key", headerName: "x-api-key", value: "sdk-test-runtime-key-0123456789" } });
    const health = await provider.get("/v1/providers/runtime/apps/{id}/health", { params: { path: { id: rt.id } } });
    expect(health).toEqual(expect.objectContaining({ status: "healthy", handlers: expect.objectContaining({ reportedByProvider: ["forecast"] }) }));
    const tokenRequests = sent.filter((r) => r.url.endsWith("/v1/providers/auth/token"));
    expect(tokenRequests).toHaveLength(2); // the first token, and one more after the 401
    expect(sent.filter((r) => r.url.includes("/runtime/apps") && r.method === "POST")).toHaveLength(2); // the refused call, sent again
  });

  it("streams a capability instance's state changes and resumes after a lost connection", async () => {
    // Publish a data_only package served by the runtime above, and install it as an end user.
    const slug = uniqueSlug("sdk-weather");
    const appId = await appIdOf(app.clientId);
    const pkg = await console.post("/v1/providers/packages/manage", {
      body: {
        appId,
        slug,
        name: "SDK Weather",
        description: "Tomorrow's highs for any city, from the SDK's own end-to-end test runtime.",
        riskTier: "data_only",
        category: "weather",
        capabilities: [weather],
        images: { icon: "https://cdn.example.com/icon.png", screenshots: ["https://cdn.example.com/shot.png"] },
        supportUrl: "https://example.com/support",
      },
    });
    const vid = pkg.versions[0]!.id;
    const run = await console.post("/v1/providers/packages/manage/{id}/versions/{vid}/validate", { params: { path: { id: pkg.id, vid }, query: { wait: "true" } } });
    expect(run).toEqual(expect.objectContaining({ status: "passed" }));
    await console.post("/v1/providers/packages/manage/{id}/versions/{vid}/submit", { params: { path: { id: pkg.id, vid } } });
    for (let i = 0; i < 100 && (await console.get("/v1/providers/packages/manage/{id}/versions/{vid}", { params: { path: { id: pkg.id, vid } } })).state !== "published"; i++) {
      await new Promise((r) => setTimeout(r, 200));
    }
    const user = await endUser();
    const space = new Aiffinity({ baseUrl: BASE_URL, idToken: user.idToken });
    const install = await space.post("/v1/space/marketplace/{id}/install", { params: { path: { id: pkg.id } }, body: { parameters: { forecast: { city: "Lyon" } } } });
    bindingId = install.capabilities[0]!.bindingId;
    ref = `${slug}.forecast`;

    // The stream's first connection is cut right after its first event; the SDK reconnects with Last-Event-ID.
    const reconnects: (string | null)[] = [];
    let opened = 0;
    const cutting = async (request: Request): Promise<Response> => {
      const response = await fetch(request);
      if (!request.url.includes("/realtime")) return response;
      if (++opened > 1) {
        reconnects.push(request.headers.get("last-event-id"));
        return response;
      }
      const reader = response.body!.getReader();
      let seen = "";
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { value, done } = await reader.read();
          if (done) return controller.close();
          controller.enqueue(value);
          seen += new TextDecoder().decode(value);
          if (seen.includes("event: ready")) {
            await reader.cancel();
            controller.error(new TypeError("connection lost"));
          }
        },
      });
      return new Response(body, { status: response.status, headers: response.headers });
    };
    const provider = new Aiffinity({ baseUrl: BASE_URL, realtimeBaseUrl: CAPABILITIES_URL, clientCredentials: app, fetch: cutting });
    const controller = new AbortController();
    const events: { id: string; event: string; highC?: number }[] = [];
    for await (const event of provider.realtime(ref, { bindingId, signal: controller.signal })) {
      events.push({ id: event.id, event: event.event, highC: (event.data.state?.data as { highC?: number } | undefined)?.highC });
      if (event.event === "ready") {
        // While the connection is down, the instance's state changes.
        const invoked = await provider.post("/v1/providers/capabilities/{id}/invoke", { params: { path: { id: ref } }, body: { bindingId } });
        expect(invoked.origin).toBe("provider");
      }
      if (event.event === "state.updated") controller.abort();
    }
    expect(events.map((e) => e.event)).toEqual(["ready", "state.updated"]);
    expect(reconnects).toEqual([events[0]!.id]); // resumed from the last event it had
    expect(events[1]!.highC).toEqual(expect.any(Number));
  });
});

/** The app id of a client id, as the console lists apps. */
async function appIdOf(clientId: string): Promise<string> {
  for await (const a of console.paginate("/v1/providers/apps")) if (a.client_id === clientId) return a.id;
  throw new Error(`No app with client id ${clientId}`);
}

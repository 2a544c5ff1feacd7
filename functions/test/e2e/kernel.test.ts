import type { Express } from "express";
import { createSurfaceApp } from "../../src/kernel/http/surface";
import { buildSurfaces } from "../../src/api";
import { ReadBatch } from "../../src/kernel/firestore";
import { adminDb } from "../helpers/admin";
import { functionUrl } from "../helpers/env";
import { api, expectError, expectStatus, request } from "../helpers/http";

describe("kernel: envelope, unknown routes, OpenAPI", () => {
  it.each([
    ["/v1/providers/nothing"],
    ["/v1/space/nothing/here"],
    ["/v1/providers/packages/unknown"],
    ["/v1/providers/runtime/unknown"],
    ["/v1/providers/capabilities/unknown"],
    ["/v1/providers/auth/unknown"],
    ["/v1/elsewhere"],
  ])("answers unknown path %s with 404 in the envelope", async (path) => {
    const res = await api.get(path);
    expect(expectError(res, 404, "NOT_FOUND").message).toContain(path);
  });

  it("answers a known path with the wrong method with 405 and Allow", async () => {
    const res = await api.put("/v1/providers/apps", {});
    expectError(res, 405, "METHOD_NOT_ALLOWED");
    expect(res.headers.get("allow")).toBe("POST, GET, HEAD, OPTIONS");
  });

  it("answers CORS preflight for known paths", async () => {
    const res = await request("OPTIONS", "/v1/providers/apps", {
      headers: { origin: "https://console.example", "access-control-request-method": "POST" },
    });
    expectStatus(204, res);
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    // "*" in production; the emulator's own CORS layer reflects the origin. Either grants access.
    const allowed = ["*", "https://console.example"];
    expect(allowed).toContain(res.headers.get("access-control-allow-origin"));
    const actual = await api.get("/v1/providers/apps", { headers: { origin: "https://console.example" } });
    expect(allowed).toContain(actual.headers.get("access-control-allow-origin"));
    expect(actual.headers.get("access-control-expose-headers")).toContain("X-Request-Id");
  });

  it("gives every response a fresh request id, in the header and the body", async () => {
    const a = await api.get("/v1/openapi.json");
    const b = await api.get("/v1/providers/account");
    expect(a.headers.get("x-request-id")).toMatch(/^req_[0-9A-Za-z]{20}$/);
    expect(b.headers.get("x-request-id")).toBe(b.body.error.requestId);
    expect(a.headers.get("x-request-id")).not.toBe(b.headers.get("x-request-id"));
  });

  it("serves the same API on the function's direct URL as through Hosting", async () => {
    const res = await api.get("/v1/providers/apps", { baseUrl: functionUrl("consoleApi") });
    expectError(res, 401, "UNAUTHENTICATED");
  });

  it("publishes an OpenAPI 3.1 document listing every mounted route", async () => {
    const res = await api.get("/v1/openapi.json");
    expectStatus(200, res);
    const doc = res.body;
    expect(doc.openapi).toBe("3.1.0");

    const surfaces = buildSurfaces();
    const mounted = new Set<string>();
    for (const surface of Object.values(surfaces)) {
      for (const entry of mountedRoutes(createSurfaceApp(surface))) mounted.add(entry);
    }
    expect(mounted.size).toBeGreaterThan(10);
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(item)) documented.add(`${method.toUpperCase()} ${path}`);
    }
    expect([...mounted].filter((r) => !documented.has(r))).toEqual([]);
    expect([...documented].filter((r) => !mounted.has(r))).toEqual([]);

    // Operations document their errors with the shared error schema.
    const create = doc.paths["/v1/providers/apps"].post;
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(["201", "400", "401", "413", "415", "429", "500"]));
    expect(doc.components.schemas.ApiError).toBeDefined();
  });
});

/** `METHOD /openapi/path` of every handler route mounted on an Express app (not the 405 fallbacks). */
function mountedRoutes(app: Express): string[] {
  type Layer = { route?: { path: string; methods: Record<string, boolean>; stack: { name: string }[] } };
  // Express 5 exposes the app's router as `app.router` (Express 4 had a private `_router`).
  const stack = (app as unknown as { router: { stack: Layer[] } }).router.stack;
  const out: string[] = [];
  for (const layer of stack) {
    if (!layer.route || layer.route.stack.some((l) => l.name === "methodNotAllowed")) continue;
    for (const method of Object.keys(layer.route.methods)) {
      if (method === "_all" || method === "options") continue;
      out.push(`${method.toUpperCase()} ${layer.route.path.replace(/:([A-Za-z_]\w*)/g, "{$1}")}`);
    }
  }
  return out;
}

describe("kernel: a batch of document lookups (ReadBatch)", () => {
  it("sends nothing before the flush, then every lookup in one getAll, in order; later lookups go on their own", async () => {
    const collection = adminDb().collection("kernelReadBatch");
    const [one, two] = [collection.doc(), collection.doc()];
    await Promise.all([one.set({ n: 1 }), two.set({ n: 2 })]);
    const getAll = jest.spyOn(adminDb(), "getAll");
    try {
      const reads = new ReadBatch();
      const asked = [reads.get(two), reads.get(collection.doc("missing")), reads.get(one)];
      let settled = false;
      void Promise.all(asked).then(() => (settled = true));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(settled).toBe(false);
      expect(getAll).not.toHaveBeenCalled();

      reads.flush();
      const answers = await Promise.all(asked);
      expect(answers.map((snap) => (snap.exists ? snap.data() : null))).toEqual([{ n: 2 }, null, { n: 1 }]);
      expect(getAll).toHaveBeenCalledTimes(1);
      expect(getAll.mock.calls[0]).toHaveLength(3);

      // A lookup after the flush is sent on its own (a reference's get() is a getAll of one).
      expect((await reads.get(one)).data()).toEqual({ n: 1 });
      expect(getAll).toHaveBeenCalledTimes(2);
      expect(getAll.mock.calls[1]).toHaveLength(1);
    } finally {
      getAll.mockRestore();
    }
  });
});

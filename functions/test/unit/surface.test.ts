import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { z } from "zod";
import { publicRoute } from "../../src/kernel/auth/firebaseUser";
import { listRoute, route } from "../../src/kernel/http/route";
import { createSurfaceApp, queryOf } from "../../src/kernel/http/surface";
import { log } from "../../src/kernel/logger";

/** The kernel's pipeline in isolation: an Express app on an ephemeral port, plain fetch. */
describe("surface pipeline", () => {
  let server: Server;
  let base: string;
  const unexpected = jest.spyOn(log, "unexpectedError").mockImplementation(() => undefined);
  const invalid = jest.spyOn(log, "invalidResponse").mockImplementation(() => undefined);

  beforeAll(async () => {
    const Out = z.object({ id: z.string() });
    const app = createSurfaceApp({
      name: "test",
      routes: [
        route({
          method: "get",
          operationId: "example1",
          path: "/boom",
          summary: "throws",
          tags: [],
          auth: publicRoute,
          response: Out,
          handler: async () => {
            throw new Error("connection to db failed: password=hunter2");
          },
        }),
        route({
          method: "get",
          operationId: "example2",
          path: "/leaky",
          summary: "returns a secret field",
          tags: [],
          auth: publicRoute,
          response: Out,
          handler: async () => ({ id: "a", clientSecretHash: "sha256:abc" }) as unknown as { id: string },
        }),
        route({
          method: "get",
          operationId: "example3",
          path: "/wrong",
          summary: "returns the wrong shape",
          tags: [],
          auth: publicRoute,
          response: Out,
          handler: async () => ({ id: 42 }) as unknown as { id: string },
        }),
        listRoute({
          method: "get",
          operationId: "example4",
          path: "/items",
          summary: "a page",
          tags: [],
          auth: publicRoute,
          response: Out,
          handler: async () => ({ items: [{ id: "a" }, { id: "b" }], total: 5, limit: 2, offset: 2 }),
        }),
      ],
    });
    server = app.listen(0);
    await new Promise((r) => server.once("listening", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    unexpected.mockRestore();
    invalid.mockRestore();
    await new Promise((r) => server.close(r));
  });

  it("answers an unexpected error as INTERNAL without leaking it, and logs it with the request id", async () => {
    const res = await fetch(`${base}/boom`);
    const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
    expect(res.status).toBe(500);
    expect(body.error.code).toBe("INTERNAL");
    expect(JSON.stringify(body)).not.toMatch(/hunter2|connection to db|at /);
    expect(body.error.message).toContain(body.error.requestId);
    expect(unexpected).toHaveBeenCalledWith(
      body.error.requestId,
      "GET /boom",
      expect.objectContaining({ message: "connection to db failed: password=hunter2" }),
    );
  });

  it("sends only the fields of the response schema", async () => {
    const res = await fetch(`${base}/leaky`);
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(JSON.parse(text).data).toEqual({ id: "a" });
    expect(text).not.toContain("sha256");
  });

  it("refuses to send a response that breaks its schema", async () => {
    const res = await fetch(`${base}/wrong`);
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: { code: string; requestId: string } };
    expect(body.error.code).toBe("INTERNAL");
    expect(invalid).toHaveBeenCalledWith(body.error.requestId, "GET /wrong", [expect.objectContaining({ path: ["id"], code: "invalid_type" })]);
  });

  it("computes pagination from the page", async () => {
    const res = await fetch(`${base}/items`);
    const body = (await res.json()) as { meta: { pagination: unknown } };
    expect(body.meta.pagination).toEqual({ total: 5, limit: 2, offset: 2, hasMore: true });
  });
});

/** The kernel parses the query itself, so Express 4 and Express 5 (the Functions Framework's) hand routes the same input. */
describe("queryOf", () => {
  const of = (url: string) => queryOf({ originalUrl: url, url } as Parameters<typeof queryOf>[0]);

  it("gives names to values, repeated names as arrays, decoded", () => {
    expect(of("/v1/x?limit=5&q=sunny+day&tag=a&tag=b%20c")).toEqual({ limit: "5", q: "sunny day", tag: ["a", "b c"] });
    expect(of("/v1/x")).toEqual({});
  });

  it("never builds nested objects or touches prototypes", () => {
    const query = of("/v1/x?limit[gt]=1&__proto__=x&constructor=y");
    expect(query).toEqual({ "limit[gt]": "1", ["__proto__"]: "x", constructor: "y" });
    expect(Object.getPrototypeOf(query)).toBe(Object.prototype);
    expect(Object.keys(query)).toEqual(["limit[gt]", "__proto__", "constructor"]);
  });
});

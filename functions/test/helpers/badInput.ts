import { expectError, request } from "./http";

/** One route with a JSON body, for describeBodyChecks. */
export interface BodyCase {
  method: "POST" | "PATCH" | "PUT";
  path: () => string;
  /** The caller's token (undefined for public routes). */
  token: () => string | undefined;
  /** A body the route accepts (it need not succeed: the checks below fail before it runs). */
  valid: () => Record<string, unknown>;
  /** One field with a value of the wrong type; the error must name it. */
  wrongType: Record<string, unknown>;
  /** Routes whose fields are all optional accept a missing body as `{}`. */
  bodyOptional?: boolean;
  /** Authenticated routes: tokens they must refuse with 401 `invalid_token` (expired, malformed...); a missing token is checked too. */
  badTokens?: () => string[];
}

/**
 * The bad inputs every route with a body must answer with the documented error in the envelope:
 * malformed JSON, a wrong-typed field, an unknown field, invalid text and deep nesting, a missing
 * body, an oversized body, another media type, and missing or bad credentials.
 */
export function describeBodyChecks(cases: Record<string, BodyCase>) {
  describe.each(Object.entries(cases))("%s", (_name, c) => {
    const send = (body: { raw?: string; json?: unknown }, token = c.token()) =>
      request(c.method, c.path(), {
        token,
        ...(body.raw !== undefined ? { raw: body.raw, headers: { "content-type": "application/json" } } : { body: body.json }),
      });

    it("answers malformed JSON with 400 INVALID_JSON", async () => {
      expectError(await send({ raw: '{"oops": ' }), 400, "INVALID_JSON");
    });
    it("answers a wrong-typed field with 400 naming it", async () => {
      const error = expectError(await send({ json: { ...c.valid(), ...c.wrongType } }), 400, "VALIDATION_ERROR");
      expect(error.message).toContain(Object.keys(c.wrongType)[0]!);
    });
    it("answers an unknown field with 400 naming it", async () => {
      expect(expectError(await send({ json: { ...c.valid(), surprise: 1 } }), 400, "VALIDATION_ERROR").message).toContain("surprise: Unknown field");
    });
    it("answers a lone surrogate, a NUL and deep nesting with 400 naming the field, before the route's schema", async () => {
      // JSON.stringify escapes a lone surrogate as \ud800, which parses back to one.
      const text = expectError(await send({ raw: JSON.stringify({ ...c.valid(), surprise: "a\ud800", [`k\u0000`]: 1 }) }), 400, "VALIDATION_ERROR");
      expect(text.message).toContain("surprise: Invalid Unicode: a lone UTF-16 surrogate");
      expect(text.message).toContain("Field name: Invalid character: NUL");
      let deep: unknown = "x";
      for (let i = 0; i < 40; i++) deep = [deep];
      expect(expectError(await send({ json: { ...c.valid(), deep } }), 400, "VALIDATION_ERROR").message).toMatch(/Nested more than 32 levels/);
    });
    if (!c.bodyOptional) {
      it("answers a missing body with 400", async () => {
        expectError(await send({ json: undefined }), 400, "VALIDATION_ERROR");
      });
    }
    it("answers an oversized body with 413 and another media type with 415", async () => {
      expectError(await send({ json: { ...c.valid(), padding: "x".repeat(1_200_000) } }), 413, "PAYLOAD_TOO_LARGE");
      expectError(
        await request(c.method, c.path(), { token: c.token(), raw: "a=b", headers: { "content-type": "application/x-www-form-urlencoded" } }),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
      );
    });
    if (c.badTokens) {
      it("answers a missing token and bad tokens with 401", async () => {
        expectError(await request(c.method, c.path(), { body: c.valid() }), 401, "UNAUTHENTICATED");
        for (const token of c.badTokens?.() ?? []) {
          const res = await send({ json: c.valid() }, token);
          expectError(res, 401, "UNAUTHENTICATED");
          expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
        }
      });
    }
  });
}

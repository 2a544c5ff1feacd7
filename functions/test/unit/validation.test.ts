import { z } from "zod";
import { parseOrThrow } from "../../src/kernel/validation";
import { ApiError } from "../../src/kernel/errors";

const Body = z.strictObject({
  name: z.string().min(1),
  email: z.email(),
  size: z.number().int().max(5).optional(),
  kind: z.enum(["a", "b"]),
  nested: z.strictObject({ url: z.url() }).optional(),
});

const messageOf = (input: unknown, source: "body" | "query" = "body") => {
  try {
    parseOrThrow(Body, input, source);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return (error as ApiError).message;
  }
  throw new Error("expected a validation error");
};

describe("validation messages", () => {
  it("match the reference's style and name each field", () => {
    expect(messageOf({ name: "", email: "a@b.co", kind: "a" })).toBe("name: String must contain at least 1 character");
    expect(messageOf({ email: "nope", kind: "c", size: 9, name: "x" })).toBe(
      'email: Invalid e-mail address; size: Number must be less than or equal to 5; kind: Expected one of: "a", "b"',
    );
  });

  it("report missing and unknown fields, nested paths included", () => {
    expect(messageOf({ email: "a@b.co", kind: "a", extra: 1, nested: { url: "x", y: 2 } })).toBe(
      "name: Required; nested.url: Invalid URL; nested.y: Unknown field; extra: Unknown field",
    );
  });

  it("call a missing enum field Required, like any other missing field", () => {
    expect(messageOf({ name: "x", email: "a@b.co" })).toBe("kind: Required");
  });

  it("prefix query fields", () => {
    expect(messageOf({ email: "a@b.co", kind: "a" }, "query")).toBe("query.name: Required");
  });

  it("describe a non-object body", () => {
    expect(messageOf("text")).toBe("body: Expected object, received string");
  });
});

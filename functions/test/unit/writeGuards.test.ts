import { etagOf, ifMatchSatisfied } from "../../src/kernel/http/writeGuards";

describe("ETags and If-Match", () => {
  it("gives one representation one strong ETag whatever its key order, and another representation another", () => {
    const tag = etagOf({ id: "pkg_1", name: "A", nested: { b: 1, a: 2 } });
    expect(tag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(etagOf({ nested: { a: 2, b: 1 }, name: "A", id: "pkg_1" })).toBe(tag);
    expect(etagOf({ id: "pkg_1", name: "B", nested: { b: 1, a: 2 } })).not.toBe(tag);
  });

  it("compares strongly: weak tags never match, a list matches if one does, * matches any version", () => {
    const tag = etagOf({ v: 1 });
    expect(ifMatchSatisfied(tag, tag)).toBe(true);
    expect(ifMatchSatisfied(`W/${tag}`, tag)).toBe(false);
    expect(ifMatchSatisfied(`"other", ${tag}`, tag)).toBe(true);
    expect(ifMatchSatisfied('"other"', tag)).toBe(false);
    expect(ifMatchSatisfied("*", tag)).toBe(true);
    expect(ifMatchSatisfied("", tag)).toBe(false);
  });
});

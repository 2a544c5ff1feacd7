import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The SDK runs in browsers as well as Node 20+: its ES module build uses only web platform APIs
 * (fetch, streams, AbortSignal, crypto.getRandomValues) and imports only its two dependencies.
 */

const esm = join(__dirname, "../../dist/esm");
const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".js") ? [join(dir, e.name)] : []));

describe("the SDK's browser build", () => {
  it("imports nothing from Node and uses no Node globals", () => {
    const sources = files(esm);
    expect(sources.length).toBeGreaterThan(5);
    for (const file of sources) {
      const code = readFileSync(file, "utf8");
      const imports = [...code.matchAll(/\bfrom\s+"([^"]+)"/g)].map((m) => m[1]!).filter((s) => !s.startsWith("."));
      expect({ file, imports: imports.filter((s) => s !== "openapi-fetch" && s !== "eventsource-parser") }).toEqual({ file, imports: [] });
      expect({ file, node: code.match(/\b(require\(|process\.|Buffer\b|__dirname|node:)/g) }).toEqual({ file, node: null });
    }
  });
});

// After the CommonJS build (emitted without a second type-check): mark dist/cjs as CommonJS and give
// it the declarations of the ES module build, which describe the same exports.
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const dist = join(dirname(fileURLToPath(import.meta.url)), "../dist");
writeFileSync(join(dist, "cjs/package.json"), '{"type":"commonjs"}\n');
const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
for (const file of walk(join(dist, "esm")).filter((f) => f.endsWith(".d.ts"))) {
  const target = join(dist, "cjs", relative(join(dist, "esm"), file));
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(file, target);
}

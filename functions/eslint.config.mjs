// Lint: TypeScript rules, and the layout of docs/architecture.md as import boundaries.
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import boundaries from "eslint-plugin-boundaries";
import importX from "eslint-plugin-import-x";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";
import tseslint from "typescript-eslint";

/**
 * The domain folders, lowest first: each may import only the folders before it (and itself), so
 * no import cycle between them is possible. A new record goes in the folder of its nearest kin.
 */
const DOMAIN = ["accounts", "events", "packages", "runtime", "conformance", "capabilities", "catalog", "quality"];

const el = (type, captured) => ({ element: captured ? { type, captured } : { type } });
const KERNEL = [el("kernel"), el("kernel-auth"), el("kernel-http")];
const allow = (...to) => to.map((selector) => ({ to: selector }));

const domainPolicies = DOMAIN.map((name, i) => ({
  from: el("domain", { name }),
  allow: allow(...KERNEL, ...DOMAIN.slice(0, i + 1).map((below) => el("domain", { name: below }))),
}));

export default tseslint.config(
  { ignores: ["lib/**", ".bench-out/**", ".fuzz-out/**", "coverage/**", "node_modules/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    plugins: { "import-x": importX, boundaries },
    settings: {
      "import-x/resolver-next": [createTypeScriptImportResolver({ project: "tsconfig.json" })],
      "import/resolver": { typescript: { project: "tsconfig.json" } },
      "boundaries/include": ["src/**/*.ts"],
      "boundaries/elements": [
        { type: "kernel-http", pattern: "src/kernel/http" },
        { type: "kernel-auth", pattern: "src/kernel/auth" },
        { type: "kernel", pattern: "src/kernel" },
        { type: "domain", pattern: "src/domain/*", capture: ["name"] },
        { type: "surface", pattern: "src/surfaces/*", capture: ["name"] },
        { type: "jobs", pattern: "src/jobs" },
      ],
      // The entry points (index.ts, api.ts, openapi.ts) wire everything together: nothing imports them.
      "boundaries/files": [{ category: "entry", pattern: "src/*.ts" }],
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "import-x/no-duplicates": "error",
      "import-x/no-cycle": "error",
      "import-x/no-self-import": "error",
      // kernel ← domain ← surfaces and jobs ← root (index.ts, api.ts): imports only point down.
      "boundaries/dependencies": [
        "error",
        {
          default: "disallow",
          message: "{{from.type}} {{from.captured.name}} must not import {{to.type}} {{to.captured.name}} (docs/architecture.md)",
          policies: [
            { from: el("kernel"), allow: allow(el("kernel")) },
            { from: el("kernel-auth"), allow: allow(el("kernel"), el("kernel-auth")) },
            { from: el("kernel-http"), allow: allow(...KERNEL) },
            ...domainPolicies,
            { from: el("surface"), allow: allow(...KERNEL, el("domain"), el("surface", { name: "{{from.captured.name}}" })) },
            { from: el("jobs"), allow: allow(...KERNEL, el("domain"), el("jobs")) },
            {
              from: { file: { categories: "entry" } },
              allow: allow(...KERNEL, el("domain"), el("surface"), el("jobs"), { file: { categories: "entry" } }),
            },
          ],
        },
      ],
      "boundaries/no-unknown-files": "error",
      "boundaries/no-unknown-dependencies": "error",
    },
  },
  {
    files: ["test/**/*.ts", "bench/**/*.ts", "fuzz/**/*.ts"],
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    languageOptions: { globals: { require: "readonly", module: "writable", process: "readonly", console: "readonly", __dirname: "readonly" } },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  prettier,
);

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { basename, dirname, join, relative, resolve } from "node:path";
import { CliError, type Context, EXIT } from "../context.js";

/**
 * `aiffinity init`: a manifest and a starter runtime, copied from the runtime SDK's template (the
 * same code the platform's own sample provider runs), with a `.env` holding freshly generated
 * secrets the manifest refers to.
 */

const require = createRequire(import.meta.url);

/** Template files and their names in the new project. */
const FILES: Record<string, string> = {
  "aiffinity.json": "aiffinity.json",
  "capabilities.js": "capabilities.js",
  "server.js": "server.js",
  "package.json": "package.json",
  "README.md": "README.md",
  gitignore: ".gitignore",
};

function templateDir(): string {
  return join(dirname(require.resolve("@aiffinity/provider-sdk/package.json")), "template");
}

/**
 * How the project depends on the runtime SDK: the registry version, or, when this CLI runs from a
 * source checkout (the SDK is not inside a node_modules folder), the checkout's folder.
 */
function providerSdkSpec(): string {
  const pkgFile = require.resolve("@aiffinity/provider-sdk/package.json");
  const real = realpathSync(dirname(pkgFile));
  if (!real.split(/[\\/]/).includes("node_modules")) return `file:${real}`;
  return `^${(JSON.parse(readFileSync(pkgFile, "utf8")) as { version: string }).version}`;
}

const slugify = (s: string) =>
  s
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 64);

export async function init(ctx: Context, dirArg: string | undefined, options: { slug?: string; name?: string; port?: string; force?: boolean; install?: boolean }) {
  const dir = resolve(dirArg ?? ".");
  const name = options.name ?? (dirArg ? basename(dir).replace(/[-_]+/g, " ").replace(/\b\w/g, (c) => c.toUpperCase()) : await ctx.ask({ flag: "--name", message: "Package name", placeholder: "Acme Weather" }));
  const slug = options.slug ?? slugify(name);
  if (!/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(slug) || slug.length < 3) throw new CliError(`"${slug}" is not a usable slug (3–64 lowercase letters and digits, single hyphens): pass --slug`, EXIT.usage);
  const port = options.port === undefined ? await freePort(8790) : Number(options.port);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new CliError(`--port must be a port number`, EXIT.usage);

  mkdirSync(dir, { recursive: true });
  const clashes = Object.values(FILES).filter((f) => existsSync(join(dir, f))).concat(existsSync(join(dir, ".env")) ? [".env"] : []);
  if (clashes.length && !options.force) throw new CliError(`${relative(process.cwd(), dir) || "."} already has ${clashes.join(", ")}: pass --force to overwrite`, EXIT.usage);

  const source = templateDir();
  const substitutions: Record<string, string> = {
    __PACKAGE_SLUG__: slug,
    __PACKAGE_NAME__: name.replace(/"/g, "'"),
    __RUNTIME_PORT__: String(port),
    __PROVIDER_SDK_SPEC__: providerSdkSpec(),
  };
  const written: string[] = [];
  for (const [from, to] of Object.entries(FILES)) {
    let text = readFileSync(join(source, from), "utf8");
    for (const [token, value] of Object.entries(substitutions)) text = text.split(token).join(value);
    writeFileSync(join(dir, to), text);
    written.push(to);
  }
  // Secrets the manifest refers to: generated here, never in the manifest, never committed (.gitignore).
  const env = [
    "# Secrets of your runtime, referenced by aiffinity.json ({\"env\": ...}). Never commit this file.",
    `RUNTIME_API_KEY=${randomBytes(24).toString("base64url")}`,
    `AIFFINITY_SIGNING_SECRET=whsec_${randomBytes(32).toString("base64")}`,
    "",
  ].join("\n");
  writeFileSync(join(dir, ".env"), env, { mode: 0o600 });
  written.push(".env");

  const install = await ctx.confirm("Install the runtime's dependencies now (npm install)?", options.install, false);
  if (install) {
    await ctx.out.step("Installing dependencies (npm install)", () => run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], dir), () => "done");
  }
  const there = relative(process.cwd(), dir) || ".";
  ctx.out.result({ dir, slug, name, port, files: written, installed: install, providerSdk: substitutions.__PROVIDER_SDK_SPEC__ }, () => {
    ctx.out.line(`Created ${slug} in ${there}: ${written.join(", ")}`);
    ctx.out.line("Next:");
    if (!install) ctx.out.line(`  (cd ${there} && npm install)`);
    ctx.out.line(`  (cd ${there} && npm start)          # the runtime, on http://127.0.0.1:${port}`);
    ctx.out.line(`  aiffinity publish${there === "." ? "" : ` --manifest ${join(there, "aiffinity.json")}`}   # validate, submit, list`);
  });
}

/** The first port from `from` nobody listens on (npm start's sample provider holds 8787). */
async function freePort(from: number): Promise<number> {
  for (let port = from; port < from + 100; port++) {
    const free = await new Promise<boolean>((resolvePromise) => {
      const server = createServer();
      server.once("error", () => resolvePromise(false));
      server.listen(port, "127.0.0.1", () => server.close(() => resolvePromise(true)));
    });
    if (free) return port;
  }
  return from;
}

function run(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", 2, 2], shell: process.platform === "win32" });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolvePromise() : reject(new CliError(`${command} ${args.join(" ")} failed (exit ${code})`, EXIT.failure))));
  });
}


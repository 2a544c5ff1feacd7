// firebase.json's Hosting rules as the router needs them: which function a path is rewritten to,
// with the glob semantics of the Hosting emulator (superstatic: minimatch, the first matching
// rewrite wins, an existing static file wins over every rewrite), on the router's normalised path.
// One difference: `*` and `**` also match a segment that starts with a dot. superstatic's do not, so
// an id such as `..%2fetc` or `.x` under /v1/ fell through every rewrite to Hosting's HTML 404; here
// every API path reaches its function, which answers in the envelope.
import { statSync } from "node:fs";
import { join, resolve, sep } from "node:path";
import { minimatch } from "minimatch";

const matches = (pathname, rule) => {
  if (rule.source ?? rule.glob) return minimatch(pathname, rule.source ?? rule.glob, { dot: true });
  if (rule.regex) return new RegExp(rule.regex, "u").test(pathname);
  return false;
};

const isFile = (path) => {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

/**
 * @param {object} hosting firebase.json's `hosting` (one site)
 * @param {string} projectDir where firebase.json lives (public is relative to it)
 */
export function hostingRules(hosting, projectDir) {
  const publicDir = resolve(projectDir, hosting.public ?? "public");
  const rewrites = hosting.rewrites ?? [];
  const redirects = hosting.redirects ?? [];
  const headers = hosting.headers ?? [];
  const ignore = hosting.ignore ?? [];

  /** A file Hosting would serve for this path as it is (before any rewrite). */
  function staticFile(pathname) {
    let decoded;
    try {
      decoded = decodeURIComponent(pathname.replace(/\/{2,}/g, "/"));
    } catch {
      return false;
    }
    const file = resolve(publicDir, `.${decoded}`);
    if (file !== publicDir && !file.startsWith(publicDir + sep)) return false;
    const relative = file.slice(publicDir.length + 1);
    if (ignore.some((glob) => minimatch(relative, glob))) return false;
    return isFile(file) || isFile(join(file, "index.html"));
  }

  return {
    publicDir,
    /**
     * Where Hosting sends a path: `{ function: name }` for a function rewrite, or `{ hosting: true }`
     * (a static file, a redirect, a destination rewrite, or nothing matched: the Hosting emulator's part).
     */
    route(pathname) {
      const path = pathname.startsWith("/") ? pathname : `/${pathname}`;
      if (redirects.some((rule) => matches(path, rule))) return { hosting: true };
      if (staticFile(path)) return { hosting: true };
      const rewrite = rewrites.find((rule) => matches(path, rule));
      if (!rewrite?.function) return { hosting: true };
      const target = typeof rewrite.function === "string" ? { functionId: rewrite.function } : rewrite.function;
      return { function: target.functionId, region: target.region ?? "us-central1" };
    },
    /** The custom headers of every `headers` rule matching the path (Hosting sets them on rewritten responses too). */
    headersFor(pathname) {
      const out = {};
      for (const rule of headers) if (matches(pathname, rule)) for (const { key, value } of rule.headers) out[key] = value;
      return out;
    },
    /** The function rewrites in order, for the tests and the status page. */
    functionRewrites: rewrites.filter((r) => r.function).map((r) => ({ source: r.source ?? r.glob ?? r.regex, function: typeof r.function === "string" ? r.function : r.function.functionId })),
  };
}

import type { Output } from "./output.js";
import { table } from "./output.js";
import { manifestPathOf } from "./manifest/derive.js";
import { formatPath, type LoadedManifest, parsePath } from "./manifest/load.js";
import type { Change, ValidationRun } from "./publishing.js";

/** How results look: findings and problems pointing at lines of the manifest, runs, changes. */

export interface LocatedFinding {
  ruleId: string;
  severity: string;
  dimension: string;
  message: string;
  /** Where the API says it is (`$.version.capabilities[0]...`). */
  apiPath: string;
  /** The same place in the manifest, and its line. */
  manifestPath: string;
  line: number | null;
  column: number | null;
}

export function locateFindings(run: ValidationRun, loaded: LoadedManifest): LocatedFinding[] {
  return run.findings.map((f) => {
    const path = manifestPathOf(parsePath(f.path));
    const at = loaded.locate(path);
    return { ruleId: f.ruleId, severity: f.severity, dimension: f.dimension, message: f.message, apiPath: f.path, manifestPath: formatPath(path), line: at?.line ?? null, column: at?.column ?? null };
  });
}

const SEVERITY_ORDER = ["error", "warning", "info"];

export function printRun(out: Output, run: ValidationRun, findings: LocatedFinding[], display: string) {
  const score = run.score;
  const verdict = run.passed ? out.style("green", "passed") : out.style("red", "failed");
  out.line(`Validation ${run.id}: ${verdict}${score ? `, score ${score.overall} / 100 (80 to pass)` : ""}`);
  if (score) out.line(`  ${Object.entries(score.dimensions).map(([name, value]) => `${name} ${value}`).join("   ")}`);
  if (run.failure) out.line(`  ${run.failure}`);
  if (!findings.length) return out.line("  No findings.");
  const sorted = [...findings].sort((a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity) || (a.line ?? 0) - (b.line ?? 0));
  const colour = (severity: string) => (severity === "error" ? out.style("red", severity) : severity === "warning" ? out.style("yellow", severity) : out.style("dim", severity));
  out.line("Findings:");
  out.line(
    table(
      sorted.map((f) => [`  ${colour(f.severity)}`, f.ruleId, f.line ? `${display}:${f.line}:${f.column}` : display, f.manifestPath, f.message]),
    ),
  );
}

export function printChanges(out: Output, changes: Change[]) {
  const mark = { created: out.style("green", "+"), updated: out.style("yellow", "~"), unchanged: out.style("dim", "="), planned: out.style("cyan", "?") };
  out.line(table(changes.map((c) => [` ${mark[c.action]}`, c.object, c.action, c.id ?? "", c.detail ?? ""])));
}

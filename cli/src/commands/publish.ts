import { type Aiffinity, AiffinityError } from "@aiffinity/sdk";
import { CliError, type Context, EXIT } from "../context.js";
import { derive } from "../manifest/derive.js";
import { findManifest, type LoadedManifest, loadManifest } from "../manifest/load.js";
import { table } from "../output.js";
import { type Applied, type ApplyOptions, applyManifest, type Package, type ValidationRun, type Version } from "../publishing.js";
import { type LocatedFinding, locateFindings, printChanges, printRun } from "../report.js";

/**
 * `validate`: applies the manifest as a draft and runs the conformance suite.
 * `publish`: applies it, validates, submits and, where the tier allows, lists, waiting for each step.
 * `status`: where the manifest's package stands.
 */

const POLL_MS = 500;
/** The policy checks of a submission run in the background; they take seconds. */
const SUBMISSION_TIMEOUT_MS = 120_000;

const EDITABLE = new Set(["draft", "validated", "validating"]);

export function load(manifest: string | undefined): LoadedManifest {
  return loadManifest(findManifest(manifest));
}

const versionPath = (pkg: { id: string }, version: { id: string }) => ({ params: { path: { id: pkg.id, vid: version.id } } });

async function getVersion(console: Aiffinity, pkg: Package, version: { id: string }): Promise<Version> {
  return console.get("/v1/providers/packages/manage/{id}/versions/{vid}", versionPath(pkg, version));
}

/** Validates the version, waiting for the run (`?wait=true`, then polling if it takes longer than the API waits). */
export async function runValidation(ctx: Context, console: Aiffinity, pkg: Package, version: Version): Promise<ValidationRun> {
  return ctx.out.step(
    `Validating ${pkg.slug} ${version.version} (conformance suite)`,
    async () => {
      let run: ValidationRun;
      if (version.state === "validating" && version.validation) {
        run = await console.get("/v1/providers/packages/manage/{id}/versions/{vid}/validations/{runId}", { params: { path: { id: pkg.id, vid: version.id, runId: version.validation.runId } } });
      } else {
        run = await console.post("/v1/providers/packages/manage/{id}/versions/{vid}/validate", { params: { path: { id: pkg.id, vid: version.id }, query: { wait: "true" } } });
      }
      while (run.status === "queued" || run.status === "running") {
        await new Promise((r) => setTimeout(r, POLL_MS));
        run = await console.get("/v1/providers/packages/manage/{id}/versions/{vid}/validations/{runId}", { params: { path: { id: pkg.id, vid: version.id, runId: run.id } } });
      }
      return run;
    },
    (run) => (run.passed ? `passed, ${run.score?.overall ?? "?"} / 100` : `failed${run.score ? `, ${run.score.overall} / 100` : ""}`),
  );
}

function validationOutput(run: ValidationRun, findings: LocatedFinding[]) {
  return { runId: run.id, status: run.status, passed: run.passed, score: run.score, failure: run.failure, findings };
}

function failIfNotPassed(run: ValidationRun, findings: LocatedFinding[]) {
  if (run.passed) return;
  const errors = findings.filter((f) => f.severity === "error").length;
  throw new CliError(
    `Validation failed${run.score ? ` (score ${run.score.overall} / 100; 80 and no errors to pass)` : ""}${errors ? `: ${errors} error finding${errors === 1 ? "" : "s"}` : ""}`,
    EXIT.validation,
    { validation: validationOutput(run, findings) },
  );
}

function prepare(ctx: Context, manifestFile: string | undefined, options: ApplyOptions) {
  const loaded = load(manifestFile);
  const derived = derive(loaded);
  return { loaded, derived, apply: () => applyManifest(ctx, loaded, derived, options) };
}

function printSigningSecret(ctx: Context, applied: Applied) {
  if (!applied.generatedSigningSecret) return;
  ctx.out.warn(
    `The platform generated your signing secret (shown once): ${applied.generatedSigningSecret}\n  Give it to your runtime (AIFFINITY_SIGNING_SECRET), and add "signingSecret": {"env": "AIFFINITY_SIGNING_SECRET"} to runtime in the manifest.`,
  );
}

/** The runtime must answer for validation to probe it: say so plainly before the suite reports it as findings. */
async function checkRuntime(ctx: Context, applied: Applied) {
  if (!applied.appClient || !applied.runtimeApp) return;
  const health = await ctx.out.step(
    "Checking the runtime's health",
    () => applied.appClient!.get("/v1/providers/runtime/apps/{id}/health", { params: { path: { id: applied.runtimeApp!.id } } }),
    (h) => `${h.status}${h.endpoint.latencyMs !== null ? ` (${h.endpoint.latencyMs} ms)` : ""}`,
  );
  if (health.status === "unreachable") ctx.out.warn(`Your runtime at ${health.endpoint.url} did not answer (${health.endpoint.error?.kind}: ${health.endpoint.error?.message}): start it, or the probes will fail.`);
  else if (health.handlers.missing.length) ctx.out.warn(`Your runtime does not serve ${health.handlers.missing.join(", ")} (GET /health lists ${health.handlers.reportedByProvider?.join(", ") || "none"}).`);
  else if (health.status === "degraded") ctx.out.warn(`Your runtime's health check answered: ${health.endpoint.error?.message ?? "degraded"}`);
}

export async function validate(ctx: Context, options: { manifest?: string } & ApplyOptions) {
  const { loaded, apply } = prepare(ctx, options.manifest, options);
  const applied = await apply();
  printSigningSecret(ctx, applied);
  const console = await ctx.console();
  const { pkg, version } = applied;
  let run: ValidationRun;
  if (EDITABLE.has(version!.state)) {
    await checkRuntime(ctx, applied);
    run = await runValidation(ctx, console, pkg!, version!);
  }
  else {
    // Submitted versions cannot be validated again: show the run they were submitted with.
    if (!version!.validation) throw new CliError(`Version ${version!.version} is ${version!.state} and has no validation run`, EXIT.failure);
    run = await console.get("/v1/providers/packages/manage/{id}/versions/{vid}/validations/{runId}", { params: { path: { id: pkg!.id, vid: version!.id, runId: version!.validation.runId } } });
    ctx.out.note(`Version ${version!.version} is ${version!.state}: showing the validation it was submitted with (bump package.version to validate changes).`);
  }
  const findings = locateFindings(run, loaded);
  if (!run.passed) {
    // With --json the error document (exit 5) carries the run; people see the run, then the error.
    if (!ctx.out.json) printRun(ctx.out, run, findings, loaded.display);
    failIfNotPassed(run, findings);
  }
  ctx.out.result({ package: pkg!.id, version: version!.version, versionId: version!.id, changes: applied.changes, validation: validationOutput(run, findings) }, () => printRun(ctx.out, run, findings, loaded.display));
}

export async function publish(ctx: Context, options: { manifest?: string; dryRun?: boolean } & ApplyOptions) {
  const started = Date.now();
  const { loaded, apply } = prepare(ctx, options.manifest, options);
  const applied = await apply();
  printSigningSecret(ctx, applied);
  if (options.dryRun) {
    ctx.out.result({ dryRun: true, changes: applied.changes }, () => {
      ctx.out.line("Planned (nothing was changed):");
      printChanges(ctx.out, applied.changes);
    });
    return;
  }
  const console = await ctx.console();
  const pkg = applied.pkg!;
  let version = applied.version!;
  let validation: ReturnType<typeof validationOutput> | null = null;
  const steps: string[] = [];

  // Validate when the version changed (or its runtime did), or was never validated.
  const stale = version.state === "draft" || version.state === "validating" || (version.state === "validated" && applied.changed);
  if (stale) {
    await checkRuntime(ctx, applied);
    const run = await runValidation(ctx, console, pkg, version);
    const findings = locateFindings(run, loaded);
    validation = validationOutput(run, findings);
    if (!run.passed) {
      if (!ctx.out.json) printRun(ctx.out, run, findings, loaded.display);
      failIfNotPassed(run, findings);
    }
    steps.push("validated");
    version = await getVersion(console, pkg, version);
  }
  if (version.state === "validated") {
    await ctx.out.step(`Submitting ${pkg.slug} ${version.version}`, async () => {
      try {
        await console.post("/v1/providers/packages/manage/{id}/versions/{vid}/submit", versionPath(pkg, version));
      } catch (error) {
        // A validation older than 30 days, or made before a listing change elsewhere: validate again, once.
        if (!(error instanceof AiffinityError && error.code === "CONFLICT" && /validat/i.test(error.message))) throw error;
        const run = await runValidation(ctx, console, pkg, await getVersion(console, pkg, version));
        const findings = locateFindings(run, loaded);
        failIfNotPassed(run, findings);
        await console.post("/v1/providers/packages/manage/{id}/versions/{vid}/submit", versionPath(pkg, version));
      }
    }, () => "submitted");
    steps.push("submitted");
    version = await ctx.out.step("Automated policy checks", async () => {
      const deadline = Date.now() + SUBMISSION_TIMEOUT_MS;
      let current = await getVersion(console, pkg, version);
      while (current.state === "submitted" && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, POLL_MS));
        current = await getVersion(console, pkg, version);
      }
      return current;
    }, (v) => v.state);
  }
  if (version.state === "approved") {
    version = await ctx.out.step(`Publishing ${pkg.slug} ${version.version}`, () => console.post("/v1/providers/packages/manage/{id}/versions/{vid}/publish", versionPath(pkg, version)).then(() => getVersion(console, pkg, version)), (v) => v.state);
    steps.push("published");
  }
  const durationMs = Date.now() - started;
  const listed = version.state === "published";
  const output = {
    package: { id: pkg.id, slug: pkg.slug },
    version: { id: version.id, version: version.version, state: version.state, review: version.review },
    listed,
    changes: applied.changes,
    changed: applied.changed || steps.length > 0,
    steps,
    validation,
    durationMs,
  };
  if (version.state === "rejected") {
    const reasons = version.review?.reasons ?? [];
    throw new CliError(`Version ${version.version} was rejected: ${reasons.map((r) => `${r.ruleId ?? "review"}: ${r.message}`).join("; ") || "see `aiffinity status`"}`, EXIT.rejected, output);
  }
  if (version.state === "submitted") throw new CliError(`The policy checks of ${version.version} did not finish within ${SUBMISSION_TIMEOUT_MS / 1000} s; run \`aiffinity status\` later`, EXIT.failure, output);
  if (version.state === "superseded" || version.state === "deprecated") {
    throw new CliError(`Version ${version.version} is ${version.state}: bump package.version to publish a new one`, EXIT.failure, output);
  }
  ctx.out.result(output, () => {
    printChanges(ctx.out, applied.changes);
    if (!output.changed) ctx.out.line("Nothing changed: the API already matches the manifest.");
    if (listed) ctx.out.line(`${pkg.slug} ${version.version} is listed in the catalog (${(durationMs / 1000).toFixed(1)} s).`);
    else if (version.state === "in_review") {
      const review = version.review as { expectedReviewBy?: string | null; queuePosition?: number | null } | null;
      ctx.out.line(`${pkg.slug} ${version.version} is in review${review?.queuePosition ? ` (position ${review.queuePosition})` : ""}${review?.expectedReviewBy ? `, expected by ${review.expectedReviewBy}` : ""}. Run \`aiffinity publish\` again once it is approved.`);
    } else ctx.out.line(`${pkg.slug} ${version.version}: ${version.state}.`);
  });
}

export async function status(ctx: Context, options: { manifest?: string; package?: string }) {
  const console = await ctx.console();
  let pkg: Package | null = null;
  const wanted = options.package ?? load(options.manifest).manifest.package.slug;
  if (/^pkg_/.test(wanted)) pkg = await console.get("/v1/providers/packages/manage/{id}", { params: { path: { id: wanted } } });
  else for await (const p of console.paginate("/v1/providers/packages/manage")) if (p.slug === wanted) pkg = await console.get("/v1/providers/packages/manage/{id}", { params: { path: { id: p.id } } });
  if (!pkg) throw new CliError(`No package ${wanted} in this account: run \`aiffinity publish\``, EXIT.failure);
  ctx.out.result({ package: pkg }, () => {
    ctx.out.line(`${pkg.name} (${pkg.slug}, ${pkg.id}): ${pkg.status}, ${pkg.installCount} install${pkg.installCount === 1 ? "" : "s"}${pkg.orphaned ? ", ORPHANED" : ""}`);
    ctx.out.line(`  in the catalog: ${pkg.currentVersion ? pkg.currentVersion.version : "no version yet"}`);
    ctx.out.line(
      table([
        ["  VERSION", "STATE", "VALIDATION", "REVIEW"],
        ...pkg.versions.map((v) => [
          `  ${v.version}`,
          v.state,
          v.validation ? `${v.validation.status}${v.validation.score !== null ? ` ${v.validation.score}` : ""}` : "-",
          v.review ? `${v.review.status}${(v.review as { expectedReviewBy?: string | null }).expectedReviewBy ? ` (by ${(v.review as { expectedReviewBy?: string }).expectedReviewBy})` : ""}` : "-",
        ]),
      ]),
    );
  });
}

import type { Aiffinity } from "@aiffinity/sdk";
import { CliError, type Context, EXIT } from "../context.js";
import { findManifest, loadManifest } from "../manifest/load.js";
import { table } from "../output.js";
import { appOf, findPackage, findRuntimeApp } from "../publishing.js";

/**
 * Commands that act as the app (Provider Runtime and Capabilities APIs): `sandbox run`,
 * `history` (and `--follow`, the realtime stream), `webhooks test`.
 */

export interface AppScope {
  manifest?: string;
  app?: string;
}

interface Scope {
  client: Aiffinity;
  appId: string | null;
  slug: string | null;
  capabilities: string[];
}

function manifestIfAny(file: string | undefined) {
  try {
    return loadManifest(findManifest(file));
  } catch (error) {
    if (file) throw error;
    return null;
  }
}

/**
 * The app to act as: AIFFINITY_CLIENT_ID/SECRET in CI; else --app, or the app of the manifest's
 * package, with the credentials stored when the CLI created it (or rotated its secret).
 */
async function scope(ctx: Context, options: AppScope): Promise<Scope> {
  const loaded = manifestIfAny(options.manifest);
  const slug = loaded?.manifest.package.slug ?? null;
  const capabilities = loaded?.manifest.capabilities.map((c) => c.id) ?? [];
  const { AIFFINITY_CLIENT_ID: id, AIFFINITY_CLIENT_SECRET: secret } = ctx.env;
  if (id && secret && !options.app) return { client: ctx.app({ clientId: id, clientSecret: secret }), appId: null, slug, capabilities };
  const console = await ctx.console();
  let appId = options.app ?? null;
  if (!appId) {
    if (!slug) throw new CliError("Which app? Pass --app <id>, or run this next to your aiffinity.json", EXIT.usage);
    const pkg = await findPackage(console, slug);
    if (!pkg) throw new CliError(`No package ${slug} yet: run \`aiffinity publish\` first`, EXIT.failure);
    appId = pkg.appId;
  }
  const { client } = await appOf(ctx, console, appId);
  return { client, appId, slug, capabilities };
}

/** `<slug>.<id>` as given, or a capability id of the manifest's package, or its first capability. */
function capabilityRef(given: string | undefined, s: Scope): string {
  if (given?.includes(".")) return given;
  const id = given ?? s.capabilities[0];
  if (!id || !s.slug) throw new CliError("Which capability? Pass <package-slug>.<capability-id>", EXIT.usage);
  return `${s.slug}.${id}`;
}

function parseJson(flag: string, value: string | undefined): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(value) as unknown;
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new CliError(`${flag} must be a JSON object, e.g. '{"location": "Berlin"}'`, EXIT.usage);
}

export async function sandboxRun(
  ctx: Context,
  capability: string | undefined,
  options: AppScope & { scenario?: string; params?: string; action?: string; input?: string; user?: string; name?: string; version?: string },
) {
  const s = await scope(ctx, options);
  let scenarioId = options.scenario;
  if (!scenarioId) {
    // An ad-hoc scenario: the answer must be 2xx, and an invocation's data must match the output schema.
    const ref = capabilityRef(capability, s);
    const kind = options.action ? "action" : "invoke";
    const body = {
      capability: ref,
      name: options.name ?? `aiffinity sandbox run ${new Date().toISOString()}`,
      kind,
      user: { id: options.user ?? "sandbox-user" },
      ...(options.version ? { versionId: options.version } : {}),
      ...(kind === "action" ? { action: options.action, input: parseJson("--input", options.input) ?? {} } : { parameters: parseJson("--params", options.params) ?? {} }),
      assertions: kind === "action" ? [{ type: "status", in: [200, 201] }] : [{ type: "status", equals: 200 }, { type: "outputSchema" }],
    };
    const scenario = await ctx.out.step(`Creating a sandbox scenario for ${ref}`, () => s.client.post("/v1/providers/capabilities/sandbox/scenarios", { body: body as never }), (x) => x.id);
    scenarioId = scenario.id;
  }
  const run = await ctx.out.step("Running it against your runtime", () => s.client.post("/v1/providers/capabilities/sandbox/run", { body: { scenarioId: scenarioId! } }), (r) => (r.passed ? "passed" : "failed"));
  ctx.out.result({ run }, () => {
    ctx.out.line(`${run.passed ? ctx.out.style("green", "PASSED") : ctx.out.style("red", "FAILED")} ${run.capability} (${run.kind}${run.action ? ` ${run.action}` : ""}) in ${run.latencyMs ?? "?"} ms, trace ${run.id}`);
    if (run.error) ctx.out.line(`  ${run.error.class}: ${run.error.message}`);
    ctx.out.line(table(run.assertions.map((a) => [`  ${a.passed ? "✔" : "✖"}`, a.expected, `got ${JSON.stringify(a.actual)}`])));
    const response = run.trace.response as { status?: number; body?: unknown } | null;
    if (response) ctx.out.line(`  response ${response.status}: ${JSON.stringify(response.body).slice(0, 400)}`);
  });
  if (!run.passed) throw new CliError("The sandbox run failed", EXIT.validation, { run });
}

export async function history(
  ctx: Context,
  capability: string | undefined,
  options: AppScope & { binding?: string; since?: string; limit?: string; follow?: boolean; maxEvents?: string; timeout?: string },
) {
  const s = await scope(ctx, options);
  const ref = capabilityRef(capability, s);
  if (options.follow) return follow(ctx, s.client, ref, options);
  const limit = options.limit ? Number(options.limit) : 20;
  const page = await s.client.list("/v1/providers/capabilities/{id}/history", {
    params: { path: { id: ref }, query: { limit, ...(options.binding ? { bindingId: options.binding } : {}), ...(options.since ? { since: options.since } : {}) } },
  });
  ctx.out.result({ capability: ref, invocations: page.items, pagination: page.pagination }, () => {
    if (!page.items.length) return ctx.out.line(`No invocations of ${ref} yet.`);
    ctx.out.line(
      table([
        ["AT", "KIND", "SOURCE", "STATUS", "HTTP", "LATENCY", "ERROR"],
        ...page.items.map((i) => [i.at, i.action ? `action ${i.action}` : i.kind, i.source, i.status, String(i.httpStatus ?? "-"), `${i.latencyMs} ms`, i.errorClass ? `${i.errorClass}: ${i.errorMessage}` : ""]),
      ]),
    );
    if (page.pagination.hasMore) ctx.out.line(`(${page.pagination.total} in all; --limit for more)`);
  });
}

/** The realtime stream: one line (or JSON document) per state change, resumed across disconnects. */
async function follow(ctx: Context, client: Aiffinity, ref: string, options: { binding?: string; maxEvents?: string; timeout?: string }) {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const timer = options.timeout ? setTimeout(stop, Number(options.timeout) * 1000) : null;
  const max = options.maxEvents ? Number(options.maxEvents) : Infinity;
  let count = 0;
  ctx.out.note(`Following ${ref}${options.binding ? ` (binding ${options.binding})` : ""}; Ctrl-C to stop.`);
  try {
    for await (const event of client.realtime(ref, { bindingId: options.binding, signal: controller.signal })) {
      if (ctx.out.json) process.stdout.write(`${JSON.stringify(event)}\n`);
      else {
        const state = event.data.state as { data?: unknown; invocationId?: string } | null | undefined;
        ctx.out.line(`${event.data.at ?? new Date().toISOString()}  ${event.event.padEnd(17)} ${event.data.bindingId ?? ""}  ${state ? `${state.invocationId ?? ""} ${JSON.stringify(state.data ?? null).slice(0, 160)}` : ""}`);
      }
      if (++count >= max) break;
    }
  } finally {
    if (timer) clearTimeout(timer);
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}

export async function webhooksTest(ctx: Context, options: AppScope & { timeout?: string }) {
  const s = await scope(ctx, options);
  let runtime;
  if (s.appId) runtime = await findRuntimeApp(s.client, s.appId);
  else {
    // Credentials from the environment name no app: fine when the account has one runtime app.
    const all = await s.client.list("/v1/providers/runtime/apps", { params: { query: { limit: 2 } } });
    if (all.items.length > 1) throw new CliError("Which app? The account has several runtime apps: pass --app <id>", EXIT.usage);
    runtime = all.items[0] ?? null;
  }
  if (!runtime) throw new CliError(`${s.appId ? `App ${s.appId}` : "This app"} has no runtime app: run \`aiffinity publish\` first`, EXIT.failure);
  const id = runtime.id;
  const queued = await ctx.out.step("Queueing a webhook.test delivery", () => s.client.post("/v1/providers/runtime/apps/{id}/webhook-profile/test", { params: { path: { id } } }), (d) => d.deliveryId);
  const deadline = Date.now() + Number(options.timeout ?? 60) * 1000;
  const delivery = await ctx.out.step(
    "Waiting for the delivery",
    async () => {
      for (;;) {
        // Newest first: the test delivery is on the first page. Once attempted it is final, or retrying (the first attempt failed).
        const page = await s.client.list("/v1/providers/runtime/apps/{id}/webhook-profile/deliveries", { params: { path: { id }, query: { limit: 20 } } });
        const d = page.items.find((x) => x.id === queued.deliveryId);
        if (d && d.status !== "pending") return d;
        if (Date.now() > deadline) throw new CliError(`Delivery ${queued.deliveryId} was not attempted within ${options.timeout ?? 60} s`, EXIT.failure);
        await new Promise((r) => setTimeout(r, 500));
      }
    },
    (d) => d.status,
  );
  ctx.out.result({ delivery }, () => {
    ctx.out.line(`Delivery ${delivery.id} to ${delivery.url}: ${delivery.status}`);
    ctx.out.line(table(delivery.attempts.map((a) => [`  attempt ${a.attempt}`, a.outcome, String(a.statusCode ?? "-"), `${a.durationMs} ms`, a.error ?? ""])));
  });
  if (delivery.status !== "succeeded") throw new CliError(`The test delivery ${delivery.status}: see the attempts above`, EXIT.failure, { delivery });
}

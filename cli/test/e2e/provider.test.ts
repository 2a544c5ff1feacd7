import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Aiffinity } from "@aiffinity/sdk";
import { BASE_URL, CAPABILITIES_URL, endUser, eventually, PASSWORD, uniqueEmail, uniqueSlug, verificationToken } from "../../../sdk/test/support/stack";
import { aiffinity, aiffinityUntil, CliRun, cleanEnv, expectExit, freePort, startProcess } from "../support";

// Real commands against the whole stack: on a cold emulator suite, each function's first call
// starts a worker, and the first publish touches most of them.
jest.setTimeout(180_000);

/**
 * A brand-new provider, as the README tells it: sign up, verify, init, start the runtime, publish,
 * with nothing but the `aiffinity` command and npm. Then an end user installs the package and the
 * provider invokes its capability through the SDK; publishing again changes nothing; a broken
 * manifest is reported at its lines.
 */

const work = mkdtempSync(join(tmpdir(), "aiffinity-cli-"));
const configDir = join(work, "config");
const project = join(work, "acme-weather");
const env = cleanEnv(configDir);
const email = uniqueEmail("cli");
const slug = uniqueSlug("acme-weather");

/** Every command the provider types, in order. */
const typed: string[] = [];
async function type(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> {
  typed.push(`aiffinity ${args.join(" ")}`);
  return aiffinity(args, { cwd: options.cwd ?? work, env: options.env ?? env });
}
const run = (args: string[], cwd = project, extraEnv: Record<string, string> = {}) => aiffinity(args, { cwd, env: { ...env, ...extraEnv } });

let runtime: Awaited<ReturnType<typeof startProcess>> | undefined;
let published: any;
let port: number;

const credentials = () => JSON.parse(readFileSync(join(configDir, "credentials.json"), "utf8"));

afterAll(async () => {
  await runtime?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("a new provider, from zero to a listed package", () => {
  it("takes five commands, verification included", async () => {
    const signup = await type(["signup", "--base-url", BASE_URL, "--company", "Acme Weather Ltd", "--email", email, "--password", PASSWORD, "--json"]);
    expectExit(signup, 0);
    expect(signup.json).toEqual(expect.objectContaining({ baseUrl: BASE_URL, signedIn: true, verified: false, account: expect.objectContaining({ email, status: "pending_verification" }) }));
    // The session is stored for later commands, readable by its owner only.
    expect(statSync(join(configDir, "credentials.json")).mode & 0o777).toBe(0o600);
    expect(statSync(configDir).mode & 0o777).toBe(0o700);
    expect(credentials().current).toBe(BASE_URL);

    const verify = await type(["verify", await verificationToken(email)]);
    expectExit(verify, 0);
    expect(verify.stdout).toContain("verified");

    port = await freePort();
    const init = await type(["init", "acme-weather", "--slug", slug, "--port", String(port), "--install"]);
    expectExit(init, 0);
    for (const file of ["aiffinity.json", "capabilities.js", "server.js", "package.json", ".gitignore", ".env", "node_modules/@aiffinity/provider-sdk/package.json"]) {
      expect(existsSync(join(project, file))).toBe(true);
    }
    expect(statSync(join(project, ".env")).mode & 0o777).toBe(0o600);
    const manifestText = readFileSync(join(project, "aiffinity.json"), "utf8");
    expect(manifestText).not.toMatch(/whsec_|RUNTIME_API_KEY=/); // secrets live in .env, by reference only
    expect(JSON.parse(manifestText).runtime.endpointUrl).toBe(`http://127.0.0.1:${port}`);

    typed.push("npm start");
    runtime = await startProcess("npm", ["start"], { cwd: project, env: cleanEnv(configDir), ready: /listening on http:\/\/127\.0\.0\.1:\d+/ });

    const publish = await type(["publish", "--json"], { cwd: project });
    expectExit(publish, 0);
    published = publish.json;
    expect(published).toEqual(
      expect.objectContaining({ listed: true, changed: true, steps: ["validated", "submitted"], version: expect.objectContaining({ version: "1.0.0", state: "published" }) }),
    );
    expect(published.changes.map((c: { object: string; action: string }) => `${c.object}:${c.action}`)).toEqual([
      "app:created",
      "runtime app:created",
      "signing secret:created",
      "auth profile:created",
      "capability template:created",
      "webhook profile:created",
      "package:created",
      "version:created",
    ]);
    expect(published.validation).toEqual(expect.objectContaining({ passed: true, score: expect.objectContaining({ overall: expect.any(Number) }) }));
    expect(published.durationMs).toEqual(expect.any(Number));
    // Progress went to stderr, step by step; stdout is the JSON document alone.
    expect(publish.stderr).toMatch(/Validating .* passed/);

    expect(typed).toEqual([
      expect.stringMatching(/^aiffinity signup /),
      expect.stringMatching(/^aiffinity verify vt_/),
      expect.stringMatching(/^aiffinity init /),
      "npm start",
      "aiffinity publish --json",
    ]);

    // The catalog lists it, and the runtime (verifying the platform's signatures) received the webhooks.
    const user = await endUser();
    const listing = await new Aiffinity({ baseUrl: BASE_URL, idToken: user.idToken }).get("/v1/space/marketplace/{id}", { params: { path: { id: published.package.id } } });
    expect(listing).toEqual(expect.objectContaining({ slug, installable: true, currentVersion: expect.objectContaining({ version: "1.0.0" }) }));
    await eventually(async () => /\[webhook\] package\.version\.published/.test(runtime!.output()), 30_000, "the published webhook at the runtime");
  });

  it("lets an end user install it, and the provider invoke it through the SDK", async () => {
    const user = await endUser();
    const space = new Aiffinity({ baseUrl: BASE_URL, idToken: user.idToken });
    const install = await space.post("/v1/space/marketplace/{id}/install", { params: { path: { id: published.package.id } }, body: { parameters: { weather_forecast: { location: "Tromsø", days: 2 } } } });
    const binding = install.capabilities[0]!;
    expect(binding).toEqual(expect.objectContaining({ id: "weather_forecast", ref: `${slug}.weather_forecast`, bindingId: expect.stringMatching(/^bnd_/) }));

    // The provider acts as its app with the client credentials the CLI stored when it created the app.
    const [appId, app] = Object.entries(credentials().profiles[BASE_URL].apps)[0] as [string, { clientId: string; clientSecret: string }];
    expect(appId).toMatch(/^app_/);
    const provider = new Aiffinity({ baseUrl: BASE_URL, realtimeBaseUrl: CAPABILITIES_URL, clientCredentials: app });
    const invoked = await provider.post("/v1/providers/capabilities/{id}/invoke", { params: { path: { id: binding.ref } }, body: { bindingId: binding.bindingId } });
    expect(invoked).toEqual(expect.objectContaining({ origin: "provider", bindingId: binding.bindingId, data: expect.objectContaining({ location: "Tromsø", days: expect.any(Array) }) }));
    expect((invoked.data as { days: unknown[] }).days).toHaveLength(2);

    // The stream of state changes: `history --follow` from the capabilities function's direct URL.
    const follow = await aiffinityUntil(["history", "--follow", "--json", "--binding", binding.bindingId, "--max-events", "2", "--timeout", "90"], {
      cwd: project,
      env: { ...env, AIFFINITY_REALTIME_URL: CAPABILITIES_URL },
      ready: /"event":\s*"ready"/,
    });
    await provider.post("/v1/providers/capabilities/{id}/invoke", { params: { path: { id: binding.ref } }, body: { bindingId: binding.bindingId, refresh: true } });
    const streamed = await follow.done;
    expectExit(streamed, 0);
    const events = streamed.stdout.trim().split("\n").map((line) => JSON.parse(line));
    expect(events.map((e: { event: string }) => e.event)).toEqual(["ready", "state.updated"]);
    expect(events[1].data.state.data.location).toBe("Tromsø");

    const history = await run(["history", "--json"]);
    expectExit(history, 0);
    expect(history.json.invocations.length).toBeGreaterThanOrEqual(2);
    expect(history.json.invocations[0]).toEqual(expect.objectContaining({ kind: "invoke", status: "ok", bindingId: binding.bindingId }));
  });

  it("publishes a second time without changing anything", async () => {
    const console = new Aiffinity({ baseUrl: BASE_URL });
    await console.login(email, PASSWORD);
    const before = await console.get("/v1/providers/packages/manage/{id}", { params: { path: { id: published.package.id } } });
    const runs = async () => (await console.list("/v1/providers/packages/manage/{id}/versions/{vid}/validations", { params: { path: { id: published.package.id, vid: published.version.id } } })).pagination.total;
    const runsBefore = await runs();

    const again = await run(["publish", "--json"]);
    expectExit(again, 0);
    expect(again.json).toEqual(expect.objectContaining({ changed: false, listed: true, steps: [], validation: null }));
    expect(again.json.changes.every((c: { action: string }) => c.action === "unchanged")).toBe(true);
    expect(again.json.changes).toHaveLength(8);

    const after = await console.get("/v1/providers/packages/manage/{id}", { params: { path: { id: published.package.id } } });
    expect(after.updatedAt).toBe(before.updatedAt);
    expect(after.versions).toEqual(before.versions);
    expect(await runs()).toBe(runsBefore);
    const dry = await run(["publish", "--dry-run", "--json"]);
    expectExit(dry, 0);
    expect(dry.json.changes.every((c: { action: string }) => c.action === "unchanged")).toBe(true);

    // A published version is not validated again: validate shows the run it was submitted with.
    const validated = await run(["validate", "--json"]);
    expectExit(validated, 0);
    expect(validated.json.validation).toEqual(expect.objectContaining({ passed: true, runId: published.validation.runId }));
    const status = await run(["status", "--json"]);
    expectExit(status, 0);
    expect(status.json.package).toEqual(expect.objectContaining({ slug, status: "published", currentVersion: expect.objectContaining({ version: "1.0.0" }) }));
    expect(await runs()).toBe(runsBefore);
  });

  it("reports a broken manifest at its lines: the schema, the API's checks, the conformance findings", async () => {
    const broken = join(work, "broken");
    cpSync(project, broken, { recursive: true, filter: (src) => !src.includes("node_modules") });
    const manifestFile = join(broken, "aiffinity.json");
    const manifest = JSON.parse(readFileSync(manifestFile, "utf8"));
    manifest.package.slug = uniqueSlug("broken");
    manifest.app = { name: "Acme Broken" };
    const write = () => writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
    const lineOf = (needle: string) => readFileSync(manifestFile, "utf8").split("\n").findIndex((l) => l.includes(needle)) + 1;
    const at = (problem: { position: { line: number } | null }) => problem.position?.line;

    // 1. What the manifest's own schema refuses, before any call.
    manifest.package.riskTier = "risky";
    manifest.capabilities[0].refreshIntervalSeconds = 10;
    write();
    const shape = await run(["validate", "--json"], broken);
    expectExit(shape, 4);
    expect(shape.json.error.problems.map((p: { path: string }) => p.path).sort()).toEqual(["$.capabilities[0].refreshIntervalSeconds", "$.package.riskTier"]);
    expect(shape.json.error.problems.map(at).sort()).toEqual([lineOf('"refreshIntervalSeconds": 10'), lineOf('"riskTier": "risky"')].sort());
    expect(shape.stderr).toContain(`aiffinity.json:${lineOf('"riskTier": "risky"')}:`);

    // 2. What the API refuses (an invalid JSON Schema), down to the keyword.
    manifest.package.riskTier = "data_only";
    manifest.capabilities[0].refreshIntervalSeconds = 1800;
    manifest.capabilities[0].inputSchema.properties.location.type = "strin";
    write();
    const api = await run(["validate", "--json"], broken);
    expectExit(api, 4);
    expect(api.json.error.problems).toEqual([expect.objectContaining({ path: "$.capabilities[0].inputSchema.properties.location.type", position: { line: lineOf('"type": "strin"'), column: expect.any(Number) } })]);

    // 3. What the conformance suite finds, each finding at the manifest's line; exit 5 below 80.
    manifest.capabilities[0].inputSchema.properties.location.type = "string";
    delete manifest.package.category;
    manifest.package.description = "Too short.";
    manifest.capabilities[0].sampleInput = { days: 3 };
    write();
    const suite = await run(["validate", "--json"], broken);
    expectExit(suite, 5);
    const findings = suite.json.error.validation.findings as { ruleId: string; manifestPath: string; line: number }[];
    const find = (ruleId: string) => findings.find((f) => f.ruleId === ruleId);
    expect(find("listing.description_too_short")).toEqual(expect.objectContaining({ manifestPath: "$.package.description", line: lineOf('"description": "Too short."') }));
    expect(find("schema.sample_input_invalid")).toEqual(expect.objectContaining({ manifestPath: "$.capabilities[0].sampleInput", line: lineOf('"sampleInput"') }));
    expect(find("listing.category_missing")).toEqual(expect.objectContaining({ manifestPath: "$.package.category", line: lineOf('"package"') }));
    expect(find("security.endpoint_loopback")).toEqual(expect.objectContaining({ manifestPath: "$.runtime.endpointUrl", line: lineOf('"endpointUrl"') }));
    expect(suite.json.error.validation.score.overall).toBeLessThan(80);

    // The human output names file:line for each finding.
    const human = await run(["validate"], broken);
    expectExit(human, 5);
    expect(human.stdout).toContain(`aiffinity.json:${lineOf('"description": "Too short."')}:`);
  });

  it("tests the runtime in the sandbox and its webhook endpoint", async () => {
    const sandbox = await run(["sandbox", "run", "--params", '{"location": "Oslo", "days": 2}', "--json"]);
    expectExit(sandbox, 0);
    expect(sandbox.json.run).toEqual(expect.objectContaining({ passed: true, capability: `${slug}.weather_forecast` }));
    const failing = await run(["sandbox", "run", "--params", '{"days": 2}', "--json"]);
    expectExit(failing, 1); // the platform refuses parameters the capability's schema rejects
    expect(failing.json.error).toEqual(expect.objectContaining({ code: "VALIDATION_ERROR", status: 400 }));
    const webhook = await run(["webhooks", "test", "--json"]);
    expectExit(webhook, 0);
    expect(webhook.json.delivery).toEqual(expect.objectContaining({ status: "succeeded", attempts: [expect.objectContaining({ statusCode: 204 })] }));
    await eventually(async () => /\[webhook\] webhook\.test/.test(runtime!.output()), 10_000, "the test webhook at the runtime");
  });

  it("manages apps and sessions, with exit codes scripts can trust", async () => {
    const whoami = await run(["whoami", "--json"]);
    expectExit(whoami, 0);
    expect(whoami.json.account).toEqual(expect.objectContaining({ email, status: "active" }));
    const created = await run(["apps", "create", "--name", "Spare", "--json"]);
    expectExit(created, 0);
    const spare = created.json.app;
    expect(credentials().profiles[BASE_URL].apps[spare.id]).toEqual({ clientId: spare.client_id, clientSecret: spare.client_secret });
    const list = await run(["apps", "list", "--json"]);
    expect(list.json.apps.map((a: { name: string }) => a.name).sort()).toEqual(["Acme Broken", "Acme Weather", "Spare"]);
    expectExit(await run(["apps", "rotate-secret", spare.id]), 2); // no terminal to ask on, no --yes
    const rotated = await run(["apps", "rotate-secret", spare.id, "--yes", "--json"]);
    expectExit(rotated, 0);
    expect(rotated.json.app.client_secret).not.toBe(spare.client_secret);
    expect(credentials().profiles[BASE_URL].apps[spare.id].clientSecret).toBe(rotated.json.app.client_secret);
    expectExit(await run(["apps", "delete", spare.id, "--yes"]), 0);
    const gone = await run(["apps", "get", spare.id, "--json"]);
    expectExit(gone, 1);
    expect(gone.json.error).toEqual(expect.objectContaining({ code: "NOT_FOUND", status: 404, requestId: expect.stringMatching(/^req_/) }));

    expectExit(await run(["--help"]), 0);
    expectExit(await run(["publish", "--no-such-flag"]), 2);
    expectExit(await run(["logout"]), 0);
    const signedOut = await run(["whoami", "--json"]);
    expectExit(signedOut, 3);
    // CI: credentials from the environment, nothing stored.
    const ci = await run(["whoami", "--json"], project, { AIFFINITY_BASE_URL: BASE_URL, AIFFINITY_EMAIL: email, AIFFINITY_PASSWORD: PASSWORD });
    expectExit(ci, 0);
    expect(credentials().profiles[BASE_URL]).toBeUndefined();
    const wrong = await run(["whoami"], project, { AIFFINITY_BASE_URL: BASE_URL, AIFFINITY_EMAIL: email, AIFFINITY_PASSWORD: "not-the-password-1" });
    expectExit(wrong, 3);
    // Signing in again stores a session (0600) for the next commands.
    expectExit(await run(["login", "--base-url", BASE_URL, "--email", email, "--password", PASSWORD]), 0);
    expect(credentials().profiles[BASE_URL].email).toBe(email);
    expect(statSync(join(configDir, "credentials.json")).mode & 0o777).toBe(0o600);
    expectExit(await run(["whoami"]), 0);
  });
});

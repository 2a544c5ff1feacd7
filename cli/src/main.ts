import { AiffinityError } from "@aiffinity/sdk";
import { Command, CommanderError, Option } from "commander";
import { CliError, Context, EXIT, type GlobalOptions, VERSION } from "./context.js";
import { ManifestProblems } from "./manifest/problems.js";

/**
 * The `aiffinity` command: parses arguments, runs one command, maps every failure to an exit code.
 * Commands are loaded when they run, so `--help` and quick commands start fast.
 */
const account = () => import("./commands/account.js");
const publishing = () => import("./commands/publish.js");
const runtime = () => import("./commands/runtime.js");

const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  failure (an API error, a network failure, a rejected operation)
  2  usage (unknown flags, a missing value where no prompt can ask)
  3  not signed in, or no credentials for the app
  4  the manifest is invalid (each problem names its line)
  5  a check failed (validation below 80 or with errors, a failed sandbox run)
  6  the version was rejected by the policy checks or a reviewer

Environment:
  AIFFINITY_BASE_URL        the API (default: the last login's, else https://api.aiffinity.me)
  AIFFINITY_EMAIL, AIFFINITY_PASSWORD
                            sign in for this run without storing anything (CI)
  AIFFINITY_CLIENT_ID, AIFFINITY_CLIENT_SECRET
                            the app's client credentials (CI)
  AIFFINITY_REALTIME_URL    where realtime streams are opened (production: the capabilities function's URL)
  AIFFINITY_CONFIG_DIR      where credentials are stored (default ~/.config/aiffinity, mode 0600)

Docs: docs/cli.md (commands, the manifest reference, CI).`;

type Handler = (ctx: Context, ...args: any[]) => Promise<void>;

let jsonMode = false;

function run(handler: Handler) {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const globals = command.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
    jsonMode = Boolean(globals.json);
    const ctx = new Context(globals);
    // Positional arguments, then this command's own options.
    await handler(ctx, ...args.slice(0, -2), command.opts());
  };
}

const manifestOption = () => new Option("-m, --manifest <file>", "the manifest (default: aiffinity.json, .yaml or .yml here)");
const appOption = () => new Option("--app <id>", "the app to act as (default: the manifest's package's app; or AIFFINITY_CLIENT_ID/SECRET)");

export function program(): Command {
  const cli = new Command("aiffinity")
    .description("Aiffinity for providers: your integration as a manifest (aiffinity.json), validated and published from a terminal or CI.")
    .version(VERSION, "-v, --version")
    .option("--base-url <url>", "the API's base URL (or AIFFINITY_BASE_URL)")
    .option("--json", "print the result as JSON on stdout (progress goes to stderr)")
    .option("-q, --quiet", "no progress output")
    .addHelpText("after", EXIT_CODES_HELP)
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();

  cli
    .command("signup")
    .description("create a developer account and sign in (then verify the e-mail)")
    .option("--email <email>", "login e-mail")
    .option("--company <name>", "company name")
    .option("--password <password>", "password (or AIFFINITY_PASSWORD)")
    .option("--no-verify-prompt", "on a terminal, do not ask for the verification token (use `aiffinity verify` later)")
    .action(run(async (ctx, opts) => (await account()).signup(ctx, opts)));
  cli
    .command("verify")
    .description("verify the account's e-mail with the token it received")
    .argument("[token]", "the vt_... token from the e-mail")
    .action(run(async (ctx, token, _opts) => (await account()).verify(ctx, token)));
  cli
    .command("login")
    .description("sign in and store the session (0600) in the config directory")
    .option("--email <email>", "login e-mail (or AIFFINITY_EMAIL)")
    .option("--password <password>", "password (or AIFFINITY_PASSWORD)")
    .action(run(async (ctx, opts) => (await account()).login(ctx, opts)));
  cli
    .command("logout")
    .description("forget the stored session and app credentials of this API")
    .action(run(async (ctx) => (await account()).logout(ctx)));
  cli
    .command("whoami")
    .description("show the signed-in account")
    .action(run(async (ctx) => (await account()).whoami(ctx)));

  const apps = cli.command("apps").description("console apps: the OAuth clients of your runtime (create, list, get, delete, rotate-secret)");
  apps
    .command("create")
    .description("create an app; its client secret is shown once and stored")
    .option("--name <name>", "app name")
    .option("--description <text>", "description")
    .action(run(async (ctx, opts) => (await account()).appsCreate(ctx, opts)));
  apps.command("list").description("list your apps").action(run(async (ctx) => (await account()).appsList(ctx)));
  apps.command("get").description("show an app").argument("<id>", "app_...").action(run(async (ctx, id, _opts) => (await account()).appsGet(ctx, id)));
  apps
    .command("delete")
    .description("delete an app (its packages become orphaned)")
    .argument("<id>", "app_...")
    .option("-y, --yes", "do not ask")
    .action(run(async (ctx, id, opts) => (await account()).appsDelete(ctx, id, opts)));
  apps
    .command("rotate-secret")
    .description("issue a new client secret (the old one stops working) and store it")
    .argument("<id>", "app_...")
    .option("-y, --yes", "do not ask")
    .action(run(async (ctx, id, opts) => (await account()).appsRotateSecret(ctx, id, opts)));

  cli
    .command("init")
    .description("write a manifest and a starter provider runtime (from the runtime SDK's template)")
    .argument("[dir]", "where (default: here)")
    .option("--name <name>", "the package's name (default: from the directory)")
    .option("--slug <slug>", "the package's slug (default: from the name)")
    .option("--port <port>", "the runtime's local port (default: the first free one from 8790)")
    .option("--install", "run npm install in it")
    .option("--no-install", "do not run npm install")
    .option("--force", "overwrite existing files")
    .action(run(async (ctx, dir, opts) => (await import("./commands/init.js")).init(ctx, dir, opts)));

  const applyOptions = (command: Command) =>
    command
      .addOption(manifestOption())
      .option("--rotate-secrets", "send the auth profile's secrets even if their hints match (after rotating them)")
      .option("--rotate-signing-secret", "set runtime.signingSecret again (the previous one signs for 24 h more)")
      .option("--rotate-client-secret", "rotate the app's client secret when its credentials are not available here");
  applyOptions(
    cli
      .command("validate")
      .description("apply the manifest as a draft and run the conformance suite: six scores and every finding at its manifest line (exit 5 below 80)"),
  ).action(run(async (ctx, opts) => (await publishing()).validate(ctx, opts)));
  applyOptions(
    cli
      .command("publish")
      .description("apply the manifest (app, runtime, auth, template, webhooks, package, version), validate, submit and list where the tier allows; idempotent")
      .option("--dry-run", "show what would change, change nothing"),
  ).action(run(async (ctx, opts) => (await publishing()).publish(ctx, opts)));
  cli
    .command("status")
    .description("the package's versions, validations and reviews")
    .addOption(manifestOption())
    .option("--package <slug-or-id>", "another package than the manifest's")
    .action(run(async (ctx, opts) => (await publishing()).status(ctx, opts)));

  const sandbox = cli.command("sandbox").description("test your runtime's handlers as the platform calls them (docs/sandbox.md)");
  sandbox
    .command("run")
    .description("run a sandbox scenario: --scenario <id>, or an ad-hoc one for a capability (expects 2xx and, for invocations, output matching the schema)")
    .argument("[capability]", "<slug>.<capability-id>, or a capability id of the manifest (default: its first)")
    .option("--scenario <id>", "run this scenario")
    .option("--params <json>", "invocation parameters")
    .option("--action <id>", "run this action instead of an invocation")
    .option("--input <json>", "the action's input")
    .option("--user <id>", "the mock user id", "sandbox-user")
    .option("--version <id>", "a version id (default: the package's newest, drafts included)")
    .option("--name <name>", "the scenario's name")
    .addOption(manifestOption())
    .addOption(appOption())
    .action(run(async (ctx, capability, opts) => (await runtime()).sandboxRun(ctx, capability, opts)));

  cli
    .command("history")
    .description("a capability's invocations; --follow streams its state changes (Server-Sent Events, resumed after disconnects)")
    .argument("[capability]", "<slug>.<capability-id>, or a capability id of the manifest (default: its first)")
    .option("--binding <id>", "one capability instance")
    .option("--since <iso>", "invocations at or after this time")
    .option("--limit <n>", "how many (1–100)", "20")
    .option("-f, --follow", "stream state changes until Ctrl-C")
    .option("--max-events <n>", "with --follow: stop after n events")
    .option("--timeout <seconds>", "with --follow: stop after this long")
    .addOption(manifestOption())
    .addOption(appOption())
    .action(run(async (ctx, capability, opts) => (await runtime()).history(ctx, capability, opts)));

  const webhooks = cli.command("webhooks").description("webhook deliveries to your service (docs/webhooks.md)");
  webhooks
    .command("test")
    .description("send a webhook.test delivery and report how your endpoint answered")
    .option("--timeout <seconds>", "how long to wait for the attempt", "60")
    .addOption(manifestOption())
    .addOption(appOption())
    .action(run(async (ctx, opts) => (await runtime()).webhooksTest(ctx, opts)));

  return cli;
}

function report(error: unknown): number {
  const json = (body: Record<string, unknown>) => {
    if (jsonMode) process.stdout.write(`${JSON.stringify({ error: body }, null, 2)}\n`);
  };
  const out = (message: string) => process.stderr.write(`error: ${message}\n`);
  if (error instanceof ManifestProblems) {
    for (const p of error.problems) process.stderr.write(`error ${p.position ? `${error.file}:${p.position.line}:${p.position.column}` : error.file}  ${p.path}  ${p.message}\n`);
    json({ code: "MANIFEST_INVALID", message: error.message, file: error.file, problems: error.problems, exitCode: EXIT.manifest });
    return EXIT.manifest;
  }
  if (error instanceof CliError) {
    out(error.message);
    json({ code: "CLI_ERROR", message: error.message, exitCode: error.exitCode, ...error.data });
    return error.exitCode;
  }
  if (error instanceof AiffinityError) {
    const exitCode = error.status === 401 || error.code === "CLIENT_CONFIGURATION" ? EXIT.auth : EXIT.failure;
    const details = error.details.map((d) => `\n  ${d.field}: ${d.message}`).join("");
    out(`${error.message} (${error.code}${error.status ? `, HTTP ${error.status}` : ""}${error.requestId ? `, request ${error.requestId}` : ""})${details}`);
    json({ code: error.code, message: error.message, status: error.status, requestId: error.requestId, details: error.details, exitCode });
    return exitCode;
  }
  out(error instanceof Error ? (error.stack ?? error.message) : String(error));
  json({ code: "INTERNAL", message: String(error), exitCode: EXIT.failure });
  return EXIT.failure;
}

export async function main(argv = process.argv): Promise<number> {
  jsonMode = argv.includes("--json");
  try {
    await program().parseAsync(argv);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit 0; unknown options and missing arguments are usage errors.
      return error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.code === "commander.help" ? EXIT.ok : EXIT.usage;
    }
    return report(error);
  }
}

import { Aiffinity, AiffinityError, DEFAULT_BASE_URL, type Session } from "@aiffinity/sdk";
import { type AppCredentials, ConfigStore } from "./config.js";
import { Output } from "./output.js";

/**
 * What every command gets: where the API is, the stored credentials, the SDK clients, output, and
 * prompts (on a terminal only; every prompt also has a flag).
 */

/** Exit codes CI can trust (docs/cli.md#exit-codes). */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  auth: 3,
  manifest: 4,
  validation: 5,
  rejected: 6,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
    readonly data: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "CliError";
  }
}

export interface GlobalOptions {
  baseUrl?: string;
  json?: boolean;
  quiet?: boolean;
}

export class Context {
  readonly store: ConfigStore;
  readonly baseUrl: string;
  readonly out: Output;
  readonly env: NodeJS.ProcessEnv;
  private consoleClient: Aiffinity | null = null;

  constructor(options: GlobalOptions, env = process.env) {
    this.env = env;
    this.store = new ConfigStore();
    this.baseUrl = (options.baseUrl ?? env.AIFFINITY_BASE_URL ?? this.store.current ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
    const interactive = Boolean(process.stderr.isTTY) && !env.CI;
    this.out = new Output({ json: Boolean(options.json), quiet: Boolean(options.quiet), interactive });
    const problem = this.store.permissionProblem();
    if (problem) this.out.warn(problem);
  }

  /** Prompts are for people at a terminal; scripts pass flags. */
  get canPrompt(): boolean {
    return Boolean(process.stdin.isTTY && process.stderr.isTTY) && !this.env.CI && !this.out.json;
  }

  /** A client without credentials (sign-up, verification, login). */
  anonymous(): Aiffinity {
    return new Aiffinity({ baseUrl: this.baseUrl, headers: userAgent() });
  }

  /**
   * A client signed in as the developer: the stored session (kept fresh, saved when refreshed), or
   * in CI AIFFINITY_EMAIL and AIFFINITY_PASSWORD (signed in for this run, nothing stored).
   */
  async console(): Promise<Aiffinity> {
    if (this.consoleClient) return this.consoleClient;
    const stored = this.store.profile(this.baseUrl).session;
    const client = new Aiffinity({
      baseUrl: this.baseUrl,
      headers: userAgent(),
      session: stored ?? null,
      onSessionChange: (session) => {
        if (stored && session) this.store.update(this.baseUrl, (p) => ({ ...p, session }));
      },
    });
    if (!stored) {
      const { AIFFINITY_EMAIL: email, AIFFINITY_PASSWORD: password } = this.env;
      if (!email || !password) {
        throw new CliError(`Not signed in to ${this.baseUrl}: run \`aiffinity login\` (or set AIFFINITY_EMAIL and AIFFINITY_PASSWORD)`, EXIT.auth);
      }
      await client.login(email, password).catch((error) => {
        throw asAuthError(error);
      });
    }
    this.consoleClient = client;
    return client;
  }

  saveSession(email: string, session: Session) {
    this.store.update(this.baseUrl, (p) => ({ ...p, email, session }), true);
  }

  /** The client credentials of an app: AIFFINITY_CLIENT_ID/SECRET when they are this app's, else the stored ones. */
  appCredentials(appId: string, clientId: string): AppCredentials | null {
    const { AIFFINITY_CLIENT_ID: id, AIFFINITY_CLIENT_SECRET: secret } = this.env;
    if (id && secret && id === clientId) return { clientId: id, clientSecret: secret };
    const stored = this.store.profile(this.baseUrl).apps?.[appId];
    return stored && stored.clientId === clientId ? stored : null;
  }

  saveAppCredentials(appId: string, credentials: AppCredentials) {
    this.store.update(this.baseUrl, (p) => ({ ...p, apps: { ...(p.apps ?? {}), [appId]: credentials } }));
  }

  /** A client acting as an app (Provider Runtime and Capabilities APIs). */
  app(credentials: AppCredentials): Aiffinity {
    return new Aiffinity({ baseUrl: this.baseUrl, realtimeBaseUrl: this.env.AIFFINITY_REALTIME_URL, headers: userAgent(), clientCredentials: credentials });
  }

  /** Asks on a terminal; elsewhere the flag is required. */
  async ask(options: { flag: string; message: string; secret?: boolean; placeholder?: string; initial?: string }): Promise<string> {
    if (!this.canPrompt) throw new CliError(`Missing ${options.flag} (prompts only run on a terminal)`, EXIT.usage);
    const prompts = await import("@clack/prompts");
    const answer = options.secret
      ? await prompts.password({ message: options.message, output: process.stderr })
      : await prompts.text({ message: options.message, placeholder: options.placeholder, initialValue: options.initial, output: process.stderr });
    if (prompts.isCancel(answer) || !answer) throw new CliError("Cancelled", EXIT.usage);
    return String(answer);
  }

  async confirm(message: string, flagValue: boolean | undefined, defaultValue: boolean): Promise<boolean> {
    if (flagValue !== undefined) return flagValue;
    if (!this.canPrompt) return defaultValue;
    const prompts = await import("@clack/prompts");
    const answer = await prompts.confirm({ message, initialValue: defaultValue, output: process.stderr });
    if (prompts.isCancel(answer)) throw new CliError("Cancelled", EXIT.usage);
    return answer;
  }
}

function userAgent(): Record<string, string> {
  return { "user-agent": `aiffinity-cli/${VERSION} node/${process.versions.node}` };
}

export const VERSION = "0.1.0";

function asAuthError(error: unknown): unknown {
  if (error instanceof AiffinityError && (error.status === 401 || error.status === 400)) return new CliError(`Sign-in failed: ${error.message}`, EXIT.auth);
  return error;
}

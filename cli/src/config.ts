import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Session } from "@aiffinity/sdk";

/**
 * Credentials between runs: `<config dir>/credentials.json`, readable by its owner only (0600, in a
 * 0700 directory). One profile per API base URL, so local and production never mix: the signed-in
 * developer's session (ID and refresh token) and the client credentials of apps the CLI created or
 * rotated. In CI nothing is stored: everything comes from environment variables (docs/cli.md).
 */

export interface AppCredentials {
  clientId: string;
  clientSecret: string;
}

export interface Profile {
  email?: string;
  session?: Session;
  apps?: Record<string, AppCredentials>;
}

export interface StoredConfig {
  version: 1;
  /** The base URL of the last signup or login, used when no flag or variable says otherwise. */
  current?: string;
  profiles: Record<string, Profile>;
}

export function configDir(env = process.env): string {
  if (env.AIFFINITY_CONFIG_DIR) return env.AIFFINITY_CONFIG_DIR;
  if (process.platform === "win32" && env.APPDATA) return join(env.APPDATA, "aiffinity");
  return join(env.XDG_CONFIG_HOME || join(homedir(), ".config"), "aiffinity");
}

export class ConfigStore {
  readonly file: string;
  private data: StoredConfig;

  constructor(readonly dir = configDir()) {
    this.file = join(dir, "credentials.json");
    this.data = { version: 1, profiles: {} };
    if (existsSync(this.file)) {
      try {
        const parsed = JSON.parse(readFileSync(this.file, "utf8")) as StoredConfig;
        if (parsed && parsed.version === 1 && typeof parsed.profiles === "object") this.data = parsed;
      } catch {
        // An unreadable file is replaced on the next write; the user signs in again.
      }
    }
  }

  /** Warns when the file can be read by others (a copy, an unpacked backup...). */
  permissionProblem(): string | null {
    if (process.platform === "win32" || !existsSync(this.file)) return null;
    const mode = statSync(this.file).mode & 0o777;
    return mode & 0o077 ? `${this.file} is readable by others (mode ${mode.toString(8)}): run chmod 600 on it` : null;
  }

  get current(): string | undefined {
    return this.data.current;
  }

  profile(baseUrl: string): Profile {
    return this.data.profiles[baseUrl] ?? {};
  }

  update(baseUrl: string, change: (profile: Profile) => Profile, makeCurrent = false) {
    this.data.profiles[baseUrl] = change({ ...this.profile(baseUrl) });
    if (makeCurrent) this.data.current = baseUrl;
    this.save();
  }

  forget(baseUrl: string) {
    delete this.data.profiles[baseUrl];
    if (this.data.current === baseUrl) delete this.data.current;
    this.save();
  }

  private save() {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.data, null, 2)}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600); // the umask may have widened it
    renameSync(tmp, this.file);
  }
}

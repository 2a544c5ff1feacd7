import { AiffinityError } from "./errors.js";
import type { Fetch } from "./transport.js";
import type { ClientCredentials, Session } from "./types.js";

/**
 * The two kinds of credentials, each refreshed before it expires and once more when the API
 * answers 401 to it: a developer's Firebase ID token (console, packages and catalog routes), kept
 * fresh with its refresh token; and an app's OAuth access token (runtime and capabilities routes),
 * from the client credentials grant, cached until shortly before `expires_in`.
 */

/** Renew this long before expiry, so a token never expires in flight. */
const MARGIN_MS = 60_000;

async function postJson(fetch: Fetch, url: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(new Request(url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json" }, body: JSON.stringify(body) }));
  if (!response.ok) throw await AiffinityError.fromResponse(response);
  const json = (await response.json()) as Record<string, unknown>;
  return (json.data as Record<string, unknown> | undefined) ?? json;
}

export class SessionStore {
  private pending: Promise<Session> | null = null;

  constructor(
    private session: Session | null,
    private readonly baseUrl: string,
    private readonly fetch: Fetch,
    private readonly onChange?: (session: Session | null) => void,
  ) {}

  get current(): Session | null {
    return this.session;
  }

  set(session: Session | null) {
    this.session = session;
    this.onChange?.(session);
  }

  async login(email: string, password: string): Promise<Session> {
    this.set(toSession(await postJson(this.fetch, `${this.baseUrl}/v1/providers/account/login`, { email, password })));
    return this.session!;
  }

  /** A valid ID token, refreshed when it is about to expire (or `force`d after a 401). */
  async idToken(force = false): Promise<string> {
    const session = this.session;
    if (!session) throw new AiffinityError({ status: 0, code: "CLIENT_CONFIGURATION", message: "Not signed in: call login() or pass a session (or an idToken function)" });
    if (!force && session.expiresAt - MARGIN_MS > Date.now()) return session.idToken;
    this.pending ??= postJson(this.fetch, `${this.baseUrl}/v1/providers/account/refresh`, { refresh_token: session.refreshToken })
      .then((answer) => {
        const fresh = toSession(answer);
        this.set(fresh);
        return fresh;
      })
      .finally(() => (this.pending = null));
    return (await this.pending).idToken;
  }
}

function toSession(answer: Record<string, unknown>): Session {
  return {
    idToken: String(answer.id_token),
    refreshToken: String(answer.refresh_token),
    expiresAt: Date.now() + Number(answer.expires_in) * 1000,
    accountId: String(answer.account_id),
  };
}

export class AccessTokens {
  private cached: { token: string; expiresAt: number } | null = null;
  private pending: Promise<string> | null = null;

  constructor(
    private readonly credentials: ClientCredentials | null,
    private readonly baseUrl: string,
    private readonly fetch: Fetch,
  ) {}

  async token(force = false): Promise<string> {
    if (!this.credentials) {
      throw new AiffinityError({ status: 0, code: "CLIENT_CONFIGURATION", message: "This call needs an app's credentials: pass clientCredentials ({clientId, clientSecret})" });
    }
    if (!force && this.cached && this.cached.expiresAt - MARGIN_MS > Date.now()) return this.cached.token;
    const { clientId, clientSecret } = this.credentials;
    this.pending ??= postJson(this.fetch, `${this.baseUrl}/v1/providers/auth/token`, { grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret })
      .then((answer) => {
        this.cached = { token: String(answer.access_token), expiresAt: Date.now() + Number(answer.expires_in ?? 3600) * 1000 };
        return this.cached.token;
      })
      .finally(() => (this.pending = null));
    return this.pending;
  }
}

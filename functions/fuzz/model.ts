/** The kinds of credentials the fuzzer sends, and the world of resources it fuzzes (created by world.ts). */
export const TOKEN_KINDS = [
  "none",
  "malformed",
  "basic-garbage",
  "expired-id",
  "expired-access",
  "alg-none",
  "alg-confusion",
  "wrong-audience",
  "foreign-key",
  "provider-id",
  "other-tenant-id",
  "unverified-provider",
  "end-user",
  "reviewer",
  "app-access",
  "other-tenant-access",
] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

/** Tokens that no route may accept: any secured route answers 401 (or 429). */
export const INVALID_TOKENS: readonly TokenKind[] = [
  "none",
  "malformed",
  "basic-garbage",
  "expired-id",
  "expired-access",
  "alg-none",
  "alg-confusion",
  "wrong-audience",
  "foreign-key",
];

/** One tenant's resources (provider A is the fuzzer's own; B is "another tenant"). */
interface Tenant {
  accountId: string;
  appId: string;
  runtimeAppId: string;
  packageId: string;
  versionId: string;
  /** A validation run of the version (B's is well formed but unknown). */
  runId: string;
  /** `<slug>.weather_forecast` */
  capability: string;
}

export interface World {
  /** The Authorization header value for each token kind (undefined: send none). */
  authorization: Record<TokenKind, string[] | undefined>;
  a: Tenant & {
    /** An app of A that destructive requests (delete, rotate) may hit, so A's own app keeps working. */
    victimAppId: string;
    /** A's login, and the auth profile and webhook URL of A's runtime (the sample provider's). */
    email: string;
    password: string;
    authProfile: Record<string, unknown>;
    webhookUrl: string;
    /** The victim app's client credentials: the token endpoint's valid requests use them. */
    victimClientId: string;
    victimClientSecret: string;
    reviewId: string;
    bindingId: string;
    listingId: string;
  };
  b: Tenant;
  /** Values that must never appear in a response the fuzzer did not put into the request. */
  secrets: string[];
  close(): Promise<void>;
}

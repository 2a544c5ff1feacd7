import { join } from "node:path";
import { FUNCTIONS_ROOT } from "./secrets";

/** The sample provider runtime (emulators/sample-provider), run in the test process as a real peer. */
interface LoggedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  auth: "api_key" | "oauth2" | "custom" | null;
  signatureValid: boolean | null;
  at: string;
}

export interface ReceivedWebhook {
  headers: Record<string, string>;
  body: string;
  json: any;
  signatureValid: boolean;
  at: string;
}

export type FailureMode = "none" | "hang" | "slow" | "error_500" | "malformed" | "huge" | "invalid_output" | "redirect";

export interface SampleProvider {
  url: string;
  port: number;
  config: {
    apiKeyHeader: string;
    apiKey: string;
    oauthClientId: string;
    oauthClientSecret: string;
    customHeader: string;
    customSecret: string;
    tokenTtlSeconds: number;
  };
  requests: LoggedRequest[];
  webhooks: ReceivedWebhook[];
  readonly tokensIssued: number;
  setFailure(mode: FailureMode, delayMs?: number): void;
  setWebhookResponses(statuses: number[]): void;
  setSigningSecrets(secrets: string[]): void;
  reset(): void;
  close(): Promise<void>;
}

interface SampleProviderModule {
  createSampleProvider(options?: Record<string, unknown>): Promise<SampleProvider>;
  verifySignature(secrets: string[], headers: Record<string, string>, body: string, toleranceSeconds?: number): boolean;
  CAPABILITIES: string[];
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const sampleProviderModule = require(join(FUNCTIONS_ROOT, "../emulators/sample-provider/index.js")) as SampleProviderModule;

export const startSampleProvider = (options: Record<string, unknown> = {}) => sampleProviderModule.createSampleProvider(options);

/** Polls `check` until it returns a value (not undefined/false), or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

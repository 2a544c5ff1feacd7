import { Agent, type Dispatcher } from "undici";
import { BASE_URL } from "./env";

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  /** Parsed JSON body (undefined when the body is empty or not JSON). */
  body: T;
  text: string;
}

export interface RequestOptions {
  token?: string;
  /** Sent as JSON unless `raw` is given. */
  body?: unknown;
  /** Sent verbatim (for malformed bodies). */
  raw?: string | Buffer;
  headers?: Record<string, string>;
  baseUrl?: string;
  /** Connect from this loopback address (any of 127.0.0.0/8): a distinct client, as the router sees it. */
  localAddress?: string;
}

const agents = new Map<string, Dispatcher>();
const agentFrom = (localAddress: string) => {
  let agent = agents.get(localAddress);
  if (!agent) agents.set(localAddress, (agent = new Agent({ localAddress })));
  return agent;
};

export async function request<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
  // A fresh connection per request: a reused keep-alive socket that the server closes while the
  // test process is busy (a loaded machine) fails as "other side closed", which is not the API's doing.
  const headers: Record<string, string> = { connection: "close", ...(options.headers ?? {}) };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | Buffer | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  const dispatcher = options.localAddress ? agentFrom(options.localAddress) : undefined;
  const response = await fetch(`${options.baseUrl ?? BASE_URL}${path}`, {
    method,
    headers,
    body,
    ...(dispatcher ? { dispatcher } : {}),
  } as RequestInit);
  const text = await response.text();
  let parsed: any;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

export const api = {
  get: <T = any>(path: string, o?: RequestOptions) => request<T>("GET", path, o),
  post: <T = any>(path: string, body?: unknown, o?: RequestOptions) => request<T>("POST", path, { ...o, body }),
  put: <T = any>(path: string, body?: unknown, o?: RequestOptions) => request<T>("PUT", path, { ...o, body }),
  patch: <T = any>(path: string, body?: unknown, o?: RequestOptions) => request<T>("PATCH", path, { ...o, body }),
  delete: <T = any>(path: string, o?: RequestOptions) => request<T>("DELETE", path, o),
};

/** Fails with the whole response in the message, so a wrong status explains itself. */
export function expectStatus(expected: number, response: ApiResponse) {
  if (response.status !== expected) {
    throw new Error(`Expected HTTP ${expected}, got ${response.status}: ${response.text.slice(0, 2000)}`);
  }
}

/** Asserts the documented error envelope and returns the error object. */
export function expectError(response: ApiResponse, status: number, code: string) {
  expectStatus(status, response);
  expect(response.body).toEqual({
    error: expect.objectContaining({ code, message: expect.any(String), requestId: expect.stringMatching(/^req_/) }),
  });
  expect(response.headers.get("x-request-id")).toBe(response.body.error.requestId);
  return response.body.error as { code: string; message: string; requestId: string; details?: { field: string; message: string }[] };
}

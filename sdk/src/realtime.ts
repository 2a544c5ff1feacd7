import { createParser } from "eventsource-parser";
import type { Aiffinity } from "./client.js";
import { AiffinityError } from "./errors.js";
import { sleep } from "./transport.js";

/**
 * Server-Sent Events of `GET /v1/providers/capabilities/{id}/realtime` (docs/capabilities.md), read
 * with fetch (browsers' EventSource cannot send an Authorization header). Every event's `id` is
 * remembered; after a disconnect (a network failure, or the server ending the stream after 55
 * minutes) the stream is reopened with `Last-Event-ID` after the server's `retry:` delay, so the
 * events committed meanwhile arrive in order, once.
 */

export interface RealtimeOptions {
  /** One capability instance; omit for every instance of the capability. */
  bindingId?: string;
  /** Resume after this event id (e.g. one you stored); `0` replays from the beginning. */
  lastEventId?: string;
  /** Stops the stream. */
  signal?: AbortSignal;
  /** Reopen the stream after a disconnect (default true). */
  reconnect?: boolean;
}

/** A capability's state as the stream carries it. */
export interface RealtimeState {
  data: unknown;
  versionId: string;
  invocationId: string;
  fetchedAt: string;
  expiresAt: string | null;
  ttlSeconds: number | null;
  status?: string;
}

export interface RealtimeEventData {
  capability: string;
  bindingId: string | null;
  type?: string;
  at?: string;
  state?: RealtimeState | null;
  [key: string]: unknown;
}

export interface RealtimeEvent {
  /** Resume position (`Last-Event-ID`). */
  id: string;
  /** `ready`, `state.updated`, `state.invalidated`, `state.deleted` or `reset`. */
  event: string;
  data: RealtimeEventData;
}

export async function* realtime(client: Aiffinity, capability: string, options: RealtimeOptions = {}): AsyncGenerator<RealtimeEvent, void, undefined> {
  const reconnect = options.reconnect ?? true;
  const signal = options.signal;
  let lastEventId = options.lastEventId;
  let retryMs = 3000;
  let renewToken = false;
  const url = new URL(`${client.realtimeBaseUrl}/v1/providers/capabilities/${encodeURIComponent(capability)}/realtime`);
  if (options.bindingId) url.searchParams.set("bindingId", options.bindingId);

  for (;;) {
    if (signal?.aborted) return;
    const headers: Record<string, string> = { accept: "text/event-stream", authorization: `Bearer ${await client.credential("oauth2ClientCredentials", renewToken)}` };
    if (lastEventId !== undefined) headers["last-event-id"] = lastEventId;
    let response: Response;
    try {
      response = await client.streamTransport(new Request(url, { headers, signal }));
    } catch (error) {
      if (signal?.aborted) return;
      if (!reconnect) throw error;
      await sleep(retryMs, signal).catch(() => undefined);
      continue;
    }
    if (response.status === 401 && !renewToken) {
      // The access token expired while we were away: renew it once.
      await response.body?.cancel().catch(() => undefined);
      renewToken = true;
      continue;
    }
    if (!response.ok || !response.body) throw await AiffinityError.fromResponse(response);
    renewToken = false;

    const queue: RealtimeEvent[] = [];
    const parser = createParser({
      onEvent(message) {
        if (message.id !== undefined) lastEventId = message.id;
        let data: RealtimeEventData;
        try {
          data = JSON.parse(message.data) as RealtimeEventData;
        } catch {
          data = { capability, bindingId: options.bindingId ?? null, raw: message.data };
        }
        queue.push({ id: message.id ?? lastEventId ?? "", event: message.event ?? "message", data });
      },
      onRetry(ms) {
        retryMs = ms;
      },
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(value);
        while (queue.length) yield queue.shift()!;
      }
    } catch (error) {
      if (signal?.aborted) return;
      if (!reconnect) throw error;
    } finally {
      await reader.cancel().catch(() => undefined);
    }
    if (!reconnect) return;
    try {
      await sleep(retryMs, signal);
    } catch {
      return;
    }
  }
}

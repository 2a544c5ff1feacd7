/** A Server-Sent Events client over fetch (Node's EventSource cannot send an Authorization header). */
interface SseEvent {
  id: string | undefined;
  event: string;
  data: any;
  /** When the client received it (ms, performance.now()). */
  receivedAt: number;
}

export interface SseStream {
  status: number;
  headers: Headers;
  events: SseEvent[];
  comments: string[];
  retry: number | undefined;
  /** Waits for the first event (from the `from`-th on) that satisfies `match`. */
  next(match?: (e: SseEvent) => boolean, timeoutMs?: number, from?: number): Promise<SseEvent>;
  /** Waits until a comment satisfies `match`. */
  comment(match: (c: string) => boolean, timeoutMs?: number): Promise<string>;
  close(): void;
  /** The response body when the server answered with an error instead of a stream. */
  errorBody?: any;
}

export async function openStream(url: string, options: { token?: string; lastEventId?: string } = {}): Promise<SseStream> {
  const controller = new AbortController();
  const headers: Record<string, string> = { accept: "text/event-stream" };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.lastEventId !== undefined) headers["last-event-id"] = options.lastEventId;
  const response = await fetch(url, { headers, signal: controller.signal });
  const stream: SseStream = {
    status: response.status,
    headers: response.headers,
    events: [],
    comments: [],
    retry: undefined,
    next: async () => {
      throw new Error("not a stream");
    },
    comment: async () => {
      throw new Error("not a stream");
    },
    close: () => controller.abort(),
  };
  if (!(response.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
    const text = await response.text();
    try {
      stream.errorBody = JSON.parse(text);
    } catch {
      stream.errorBody = text;
    }
    return stream;
  }

  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((w) => w());
  let ended = false;
  (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    let current: { id?: string; event?: string; data: string[] } = { data: [] };
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let newline: number;
        while ((newline = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, newline).replace(/\r$/, "");
          buffer = buffer.slice(newline + 1);
          if (line === "") {
            if (current.data.length || current.event) {
              const data = current.data.join("\n");
              let parsed: unknown = data;
              try {
                parsed = JSON.parse(data);
              } catch {
                /* plain text data */
              }
              stream.events.push({ id: current.id, event: current.event ?? "message", data: parsed, receivedAt: performance.now() });
              notify();
            }
            current = { data: [] };
          } else if (line.startsWith(":")) {
            stream.comments.push(line.slice(1).trim());
            notify();
          } else {
            const colon = line.indexOf(":");
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
            if (field === "id") current.id = value;
            else if (field === "event") current.event = value;
            else if (field === "data") current.data.push(value);
            else if (field === "retry") stream.retry = Number(value);
          }
        }
      }
    } catch {
      /* aborted */
    } finally {
      ended = true;
      notify();
    }
  })();

  const until = <T>(find: () => T | undefined, timeoutMs: number, what: string) =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const found = find();
        if (found !== undefined) {
          done();
          resolve(found);
        } else if (ended) {
          done();
          reject(new Error(`stream ended while waiting for ${what}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(stream.events.map((e) => e.event))}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  stream.next = (match = () => true, timeoutMs = 15_000, from = 0) => until(() => stream.events.slice(from).find(match), timeoutMs, "an event");
  stream.comment = (match, timeoutMs = 20_000) => until(() => stream.comments.find(match), timeoutMs, "a comment");
  return stream;
}

import type { Request, Response } from "express";
import { FieldPath, type Query, Timestamp } from "firebase-admin/firestore";
import { type Clock, MINUTE, systemClock } from "../../kernel/clock";
import { ApiError } from "../../kernel/errors";
import { db } from "../../kernel/firebase";
import { log } from "../../kernel/logger";
import { EVENT_RETENTION_MS, capabilityEvents } from "../../domain/capabilities/stateEvents";
import { capabilityStates, freshnessAt } from "../../domain/capabilities/state";
import type { CapabilityHandle } from "./resolve";
import type { CapabilityEventDoc } from "../../domain/capabilities/stateEvents";
import type { CapabilityStateDoc } from "../../domain/capabilities/state";

/**
 * GET /v1/providers/capabilities/:id/realtime: Server-Sent Events of state changes
 * (docs/capabilities.md#realtime). Each change is a `capabilityEvents` document written in the
 * transaction of the change, with its commit time; a Firestore listener streams the events after the
 * client's cursor in (commit time, id) order, so a reconnect with `Last-Event-ID` resumes without
 * loss or duplicates, whichever instance serves it.
 */

export const HEARTBEAT_MS = 15_000;
export const RETRY_HINT_MS = 3_000;
/** Streams end before the function's 60-minute limit; clients reconnect with Last-Event-ID. */
export const MAX_STREAM_MS = 55 * MINUTE;

/** Where a stream resumes: after (at, id), or from the beginning. */
export type Cursor = { at: Timestamp; id: string } | "start";

const EVENT_ID = /^(\d{1,12})\.(\d{9})-(cev_[0-9A-Za-z]{20})$/;

/** `<seconds>.<nanoseconds>-<document id>`: the commit time and the tie-break, readable and sortable. */
export const encodeEventId = (at: Timestamp, id: string) => `${at.seconds}.${String(at.nanoseconds).padStart(9, "0")}-${id}`;

export function decodeEventId(value: string): Cursor | null {
  if (value === "0") return "start";
  const match = EVENT_ID.exec(value);
  if (!match) return null;
  return { at: new Timestamp(Number(match[1]), Number(match[2])), id: match[3]! };
}

export const cursorId = (cursor: Cursor) => (cursor === "start" ? "0" : encodeEventId(cursor.at, cursor.id));

// Streams open in this instance (observable in tests: a closed client must leave none behind).
let openStreams = 0;
export const openStreamCount = () => openStreams;

function scoped(handle: CapabilityHandle, bindingId: string | undefined): Query<CapabilityEventDoc> {
  const base = capabilityEvents().where("capabilityKey", "==", handle.key);
  return bindingId ? base.where("bindingId", "==", bindingId) : base;
}

const stateOut = (s: Pick<CapabilityEventDoc, "versionId" | "dataJson" | "ttlSeconds" | "fetchedAt" | "invocationId"> | null) =>
  s && s.dataJson !== null && s.fetchedAt
    ? {
        data: JSON.parse(s.dataJson),
        versionId: s.versionId,
        invocationId: s.invocationId,
        fetchedAt: s.fetchedAt.toISOString(),
        expiresAt: new Date(s.fetchedAt.getTime() + (s.ttlSeconds ?? 0) * 1000).toISOString(),
        ttlSeconds: s.ttlSeconds ?? 0,
      }
    : null;

function currentStateOut(state: CapabilityStateDoc | null, now: Date) {
  const out = stateOut(state);
  return out ? { ...out, status: freshnessAt(state, now).status } : null;
}

export interface StreamArgs {
  req: Request;
  res: Response;
  handle: CapabilityHandle;
  bindingId: string | undefined;
  /** From the Last-Event-ID header or the lastEventId query parameter. */
  lastEventId: string | undefined;
  clock?: Clock;
}

export async function streamStateChanges(args: StreamArgs): Promise<void> {
  const { req, res, handle, bindingId } = args;
  const clock = args.clock ?? systemClock;
  let resumeFrom: Cursor | null = null;
  if (args.lastEventId !== undefined) {
    resumeFrom = decodeEventId(args.lastEventId.trim());
    if (!resumeFrom)
      throw new ApiError("VALIDATION_ERROR", "Last-Event-ID: Not an event id of this stream", {
        details: [{ field: "Last-Event-ID", message: "Not an event id of this stream" }],
      });
  }
  const now = clock.now();
  // Events older than the retention window may be gone: such a client must reload the state.
  const expired = resumeFrom !== null && resumeFrom !== "start" && resumeFrom.at.toMillis() < now.getTime() - EVENT_RETENTION_MS + MINUTE;

  // A new stream (or an expired cursor) starts after the latest event, with the current state read in the same snapshot.
  let cursor: Cursor;
  let ready: { state: ReturnType<typeof currentStateOut> } | null = null;
  if (resumeFrom !== null && !expired) cursor = resumeFrom;
  else {
    const snapshot = await db().runTransaction(
      async (tx) => {
        const latest = await tx.get(scoped(handle, bindingId).orderBy("at", "desc").orderBy(FieldPath.documentId(), "desc").limit(1));
        const state = bindingId ? ((await tx.get(capabilityStates().doc(bindingId))).data() ?? null) : null;
        const doc = latest.docs[0];
        return { cursor: doc ? ({ at: doc.get("at") as Timestamp, id: doc.id } as Cursor) : ("start" as Cursor), state };
      },
      { readOnly: true },
    );
    cursor = snapshot.cursor;
    ready = { state: currentStateOut(snapshot.state, now) };
  }

  res.status(200);
  res.setHeader("Content-Type", "text/event-stream; charset=utf-8");
  res.setHeader("Cache-Control", "no-cache, no-store");
  res.setHeader("Connection", "keep-alive");
  res.setHeader("X-Accel-Buffering", "no");
  res.flushHeaders();
  openStreams++;
  log.realtimeStream("opened", handle.key, { resumed: resumeFrom !== null && !expired });

  let closed = false;
  let unsubscribe: () => void = () => undefined;
  const write = (text: string) => {
    if (!closed) res.write(text);
  };
  const close = (reason: string) => {
    if (closed) return;
    closed = true;
    openStreams--;
    clearInterval(heartbeat);
    clearTimeout(lifetime);
    unsubscribe();
    log.realtimeStream("closed", handle.key, { reason });
    res.end();
  };

  write(`retry: ${RETRY_HINT_MS}\n\n`);
  if (expired)
    write(
      `event: reset\ndata: ${JSON.stringify({ reason: "Last-Event-ID is older than the 7-day event retention; GET the state, then continue from this stream" })}\n\n`,
    );
  if (ready) {
    const data = { capability: handle.ref, bindingId: bindingId ?? null, state: ready.state };
    write(`id: ${cursorId(cursor)}\nevent: ready\ndata: ${JSON.stringify(data)}\n\n`);
  }

  const heartbeat = setInterval(() => write(`: heartbeat ${clock.now().toISOString()}\n\n`), HEARTBEAT_MS);
  const lifetime = setTimeout(() => close("max_duration"), MAX_STREAM_MS);
  req.on("close", () => close("client_closed"));
  res.on("close", () => close("client_closed"));

  let query = scoped(handle, bindingId).orderBy("at").orderBy(FieldPath.documentId());
  if (cursor !== "start") query = query.startAfter(cursor.at, cursor.id);
  let last: Cursor = cursor;
  unsubscribe = query.onSnapshot(
    (snapshot) => {
      for (const change of snapshot.docChanges()) {
        if (change.type !== "added") continue;
        const at = change.doc.get("at") as Timestamp | null;
        if (!at) continue; // a local estimate of a server timestamp: the committed one follows
        // Events are immutable and arrive in query order; anything at or before the last one sent is a repeat.
        if (last !== "start" && (at.valueOf() < last.at.valueOf() || (at.isEqual(last.at) && change.doc.id <= last.id))) continue;
        const event = change.doc.data();
        last = { at, id: change.doc.id };
        const data = {
          capability: event.capabilityRef,
          bindingId: event.bindingId,
          type: event.type,
          at: at.toDate().toISOString(),
          state: stateOut(event),
        };
        write(`id: ${encodeEventId(at, change.doc.id)}\nevent: ${event.type}\ndata: ${JSON.stringify(data)}\n\n`);
      }
    },
    (error) => {
      log.realtimeStream("failed", handle.key, { errorMessage: error.message });
      close("listener_failed");
    },
  );
  if (closed) unsubscribe();
}

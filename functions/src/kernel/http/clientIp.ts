import { isIP } from "node:net";
import type { Request } from "express";
import { trustedProxyHops } from "../config";

/**
 * The client's address as the trusted proxies saw it: the entry `hops` from the right of
 * X-Forwarded-For (each trusted proxy appends the address that connected to it; entries further
 * left were sent by the client and are never believed). With fewer entries than hops the request
 * skipped a proxy (the function's direct URL): the left-most entry is then the first proxy's.
 * With 0 hops, the socket's peer. Pure, so the rule is unit-tested (docs/security.md#client-ip).
 */
export function clientAddress(forwardedFor: string | string[] | undefined, socketAddress: string | undefined, hops: number): string {
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(",") : (forwardedFor ?? "");
  const entries = header
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean);
  const raw = hops <= 0 || entries.length === 0 ? (socketAddress ?? "") : entries[Math.max(0, entries.length - hops)]!;
  return normalise(raw);
}

function normalise(raw: string): string {
  let ip = raw.toLowerCase();
  if (ip.startsWith("::ffff:") && isIP(ip.slice(7)) === 4) ip = ip.slice(7);
  if (isIP(ip)) return ip;
  // A front end never sends anything else; an odd value is kept (bounded) so it still has one bucket.
  return ip ? `invalid:${ip.slice(0, 64)}` : "unknown";
}

/** The client IP of a request, by the configured number of trusted proxy hops. */
export const clientIp = (req: Request): string => clientAddress(req.headers["x-forwarded-for"], req.socket?.remoteAddress, trustedProxyHops.value());

import { isIP } from "node:net";

/**
 * Which IP addresses the platform may connect to when it calls a provider (SSRF protection,
 * docs/architecture.md#outbound-calls). Only public unicast addresses are allowed; loopback only on
 * the emulators. IPv6 forms that embed an IPv4 address (IPv4-mapped, NAT64, 6to4) are judged by the
 * IPv4 address they carry, so `::ffff:10.0.0.1` is as private as `10.0.0.1`.
 */
export type AddressClass = { kind: "public" } | { kind: "loopback" } | { kind: "blocked"; reason: string };

const PUBLIC: AddressClass = { kind: "public" };
const LOOPBACK: AddressClass = { kind: "loopback" };
const blocked = (reason: string): AddressClass => ({ kind: "blocked", reason });

type Range = [prefix: number[], bits: number, verdict: AddressClass];

/** First match wins, so the metadata address is named before the link-local range holding it. */
const IPV4_RANGES: Range[] = [
  [[169, 254, 169, 254], 32, blocked("the cloud metadata service")],
  [[0, 0, 0, 0], 8, blocked("unspecified ('this network', 0.0.0.0/8)")],
  [[10, 0, 0, 0], 8, blocked("private (RFC 1918)")],
  [[100, 64, 0, 0], 10, blocked("shared address space (CGNAT, RFC 6598)")],
  [[127, 0, 0, 0], 8, LOOPBACK],
  [[169, 254, 0, 0], 16, blocked("link-local")],
  [[172, 16, 0, 0], 12, blocked("private (RFC 1918)")],
  [[192, 0, 0, 0], 24, blocked("reserved (IETF protocol assignments)")],
  [[192, 0, 2, 0], 24, blocked("reserved for documentation")],
  [[192, 88, 99, 0], 24, blocked("reserved (6to4 relay anycast)")],
  [[192, 168, 0, 0], 16, blocked("private (RFC 1918)")],
  [[198, 18, 0, 0], 15, blocked("reserved for benchmarking")],
  [[198, 51, 100, 0], 24, blocked("reserved for documentation")],
  [[203, 0, 113, 0], 24, blocked("reserved for documentation")],
  [[224, 0, 0, 0], 4, blocked("multicast")],
  [[240, 0, 0, 0], 4, blocked("reserved (240.0.0.0/4, broadcast)")],
];

const hex = (group: number) => [group >> 8, group & 0xff];
const v6 = (...groups: number[]) => groups.flatMap(hex);

const IPV6_RANGES: Range[] = [
  [v6(0, 0, 0, 0, 0, 0, 0, 0), 128, blocked("unspecified (::)")],
  [v6(0, 0, 0, 0, 0, 0, 0, 1), 128, LOOPBACK],
  [v6(0x64, 0xff9b, 1), 48, blocked("reserved (local-use NAT64)")],
  [v6(0x100), 64, blocked("reserved (discard prefix)")],
  [v6(0x2001, 0xdb8), 32, blocked("reserved for documentation")],
  [v6(0x2001), 23, blocked("reserved (IETF protocol assignments, Teredo)")],
  [v6(0xfc00), 7, blocked("unique local (ULA)")],
  [v6(0xfe80), 10, blocked("link-local")],
  [v6(0xfec0), 10, blocked("site-local (deprecated)")],
  [v6(0xff00), 8, blocked("multicast")],
];

function inRange(bytes: number[], prefix: number[], bits: number): boolean {
  for (let i = 0; i < bits; i += 8) {
    const take = Math.min(8, bits - i);
    const mask = (0xff << (8 - take)) & 0xff;
    if (((bytes[i / 8] ?? 0) & mask) !== ((prefix[i / 8] ?? 0) & mask)) return false;
  }
  return true;
}

function classifyV4(bytes: number[]): AddressClass {
  for (const [prefix, bits, verdict] of IPV4_RANGES) if (inRange(bytes, prefix, bits)) return verdict;
  return PUBLIC;
}

/** The 16 bytes of an IPv6 address (zone id dropped, embedded dotted quad accepted), or null. */
export function ipv6Bytes(address: string): number[] | null {
  let text = address.toLowerCase();
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  if (text.startsWith("[") && text.endsWith("]")) text = text.slice(1, -1);
  if (isIP(text) !== 6) return null;
  let tail: number[] | null = null;
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    tail = text
      .slice(lastColon + 1)
      .split(".")
      .map(Number);
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [head, rest] = text.split("::") as [string, string | undefined];
  const left = head ? head.split(":") : [];
  const right = rest === undefined ? null : rest ? rest.split(":") : [];
  const groups = right === null ? left : [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  const bytes = groups.flatMap((g) => hex(parseInt(g, 16)));
  if (tail) bytes.splice(12, 4, ...tail);
  return bytes;
}

/** What kind of address `ip` is (an IPv4 or IPv6 literal); anything unparsable is blocked. */
export function classifyAddress(ip: string): AddressClass {
  if (isIP(ip) === 4) return classifyV4(ip.split(".").map(Number));
  const bytes = ipv6Bytes(ip);
  if (!bytes) return blocked("not an IP address");
  const first10Zero = bytes.slice(0, 10).every((b) => b === 0);
  // ::ffff:a.b.c.d (IPv4-mapped) and 64:ff9b::a.b.c.d (NAT64) carry an IPv4 address in the last 4 bytes.
  if (first10Zero && bytes[10] === 0xff && bytes[11] === 0xff) return classifyV4(bytes.slice(12));
  if (inRange(bytes, v6(0x64, 0xff9b), 96)) return classifyV4(bytes.slice(12));
  // 2002:AABB:CCDD::/48 (6to4) carries one in bytes 2..5.
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return classifyV4(bytes.slice(2, 6));
  for (const [prefix, bits, verdict] of IPV6_RANGES) if (inRange(bytes, prefix, bits)) return verdict;
  // ::a.b.c.d (IPv4-compatible, deprecated) and everything else outside global unicast 2000::/3.
  if (first10Zero && bytes[10] === 0 && bytes[11] === 0) return blocked("reserved (IPv4-compatible IPv6, deprecated)");
  if ((bytes[0]! & 0xe0) !== 0x20) return blocked("not global unicast (outside 2000::/3)");
  return PUBLIC;
}

/** Why the platform must not connect to `ip`, or null if it may. */
export function addressProblem(ip: string, options: { allowLoopback: boolean }): string | null {
  const verdict = classifyAddress(ip);
  if (verdict.kind === "public") return null;
  if (verdict.kind === "loopback") return options.allowLoopback ? null : `${ip} is a loopback address`;
  return `${ip} is ${verdict.reason}`;
}

/** Names of cloud metadata services, refused before any lookup. */
const METADATA_HOSTS = new Set(["metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"]);

export const isMetadataHost = (hostname: string) => METADATA_HOSTS.has(hostname.toLowerCase().replace(/\.$/, ""));

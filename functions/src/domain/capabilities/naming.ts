import { createHmac, hkdfSync } from "node:crypto";
import { z } from "zod";
import { secrets } from "../../kernel/config";

/**
 * The shared model of capabilities at run time: how a capability is named, the per-user bindings
 * that installs create (binding.ts), and the record of every invocation (invocation.ts). The
 * capability invoker, the catalog (installs, data sync) and quality monitoring all build on these.
 */

/**
 * A capability is one descriptor of a package. Internally it is keyed by package id; publicly, in `/v1/providers/capabilities/:id/...`, by `<slug>.<capabilityId>`
 * (slugs are unique, immutable and contain no dot), e.g. `demo-weather.hourly_forecast`.
 */
export const capabilityKey = (packageId: string, capabilityId: string) => `${packageId}/${capabilityId}`;
export const capabilityRef = (slug: string, capabilityId: string) => `${slug}.${capabilityId}`;

export function parseCapabilityRef(ref: string): { slug: string; capabilityId: string } | null {
  const dot = ref.indexOf(".");
  if (dot <= 0 || dot === ref.length - 1) return null;
  return { slug: ref.slice(0, dot), capabilityId: ref.slice(dot + 1) };
}

export const CapabilityRefParam = z
  .string()
  .max(200)
  .regex(/^[a-z0-9][a-z0-9-]*\.[a-z][a-z0-9_.-]*$/)
  .meta({ description: "`<package slug>.<capability id>`", example: "demo-weather.hourly_forecast" });

/**
 * The id providers see for a user: stable per (provider account, user), unlinkable across
 * providers, and never the Firebase uid (HMAC under a key derived from DATA_ENCRYPTION_KEY).
 */
export function providerUserId(accountId: string, uid: string, keyMaterial: string = secrets.dataEncryptionKey.value()): string {
  const key = Buffer.from(hkdfSync("sha256", Buffer.from(keyMaterial, "base64"), Buffer.alloc(0), "aiffinity/provider-user-id/v1", 32));
  return `usr_${createHmac("sha256", key).update(`${accountId}:${uid}`).digest("base64url").slice(0, 27)}`;
}

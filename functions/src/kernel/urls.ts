import { z } from "zod";
import { isEmulator } from "./config";

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

export const isLoopbackHost = (hostname: string) => LOOPBACK.has(hostname.toLowerCase()) || hostname.endsWith(".localhost");

/**
 * Why a URL may not be used as an outbound or redirect target, or null if it may: https only,
 * no credentials, no fragment; plain http to loopback is accepted on the emulators alone.
 */
export function urlProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "Invalid URL";
  }
  if (url.username || url.password) return "URL must not contain credentials";
  if (url.hash) return "URL must not contain a fragment";
  if (url.protocol === "https:") {
    if (isLoopbackHost(url.hostname) && !isEmulator()) return "Loopback URLs are only allowed on the emulators";
    return null;
  }
  if (url.protocol === "http:" && isLoopbackHost(url.hostname) && isEmulator()) return null;
  return isEmulator() ? "URL must use https (or http to a loopback address on the emulators)" : "URL must use https";
}

/** A URL we will call or redirect to (see urlProblem). */
export const secureUrl = () =>
  z
    .string()
    .max(2048)
    .superRefine((value, ctx) => {
      const problem = urlProblem(value);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .meta({ format: "uri", description: "https URL (http://localhost is accepted on the emulators only)" });

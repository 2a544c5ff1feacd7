import type { Request } from "express";
import { z } from "zod";
import { InvalidAccessToken, verifyAccessToken } from "../../kernel/auth/accessTokens";
import { bearerToken, unauthenticated } from "../../kernel/auth/firebaseUser";
import type { Authenticator } from "../../kernel/auth/principal";
import { systemClock } from "../../kernel/clock";
import { isEmulator } from "../../kernel/config";
import { ApiError } from "../../kernel/errors";
import { route } from "../../kernel/http/route";
import type { Surface } from "../../kernel/http/surface";
import { apps } from "../../domain/accounts/app";

/**
 * The benchmarks' floor (`npm run bench`): the least a useful authenticated request can do, served
 * by the same kernel as every surface: verify an app's access token (the same RS256 check) and read
 * one Firestore document (the app). Other figures are reported as ratios to it. Exported as a
 * function only locally: in the functions emulator (FUNCTIONS_EMULATOR, which its discovery sets;
 * it passes no other variable to discovery) or with AIFFINITY_BENCH_FLOOR=1 on the emulators (the
 * serving pool). `firebase deploy` never ships it (test/unit/deployDocs.test.ts checks the manifest).
 */
export const benchFloorEnabled = () => process.env.FUNCTIONS_EMULATOR === "true" || (process.env.AIFFINITY_BENCH_FLOOR === "1" && isEmulator());

/** The verified app id of each request (the principal types have no place for a bare app id). */
const appIds = new WeakMap<Request, string>();

const appToken: Authenticator<{ kind: "anonymous" }> = {
  scheme: "oauth2ClientCredentials",
  async authenticate(req) {
    try {
      const claims = await verifyAccessToken(bearerToken(req), systemClock);
      appIds.set(req, claims.appId);
      return { kind: "anonymous" };
    } catch (error) {
      if (error instanceof InvalidAccessToken) throw unauthenticated(error.message, "invalid_token");
      throw error;
    }
  },
};

export function benchFloorSurface(): Surface {
  return {
    name: "benchFloor",
    routes: [
      route({
        method: "get",
        operationId: "benchFloor",
        path: "/v1/bench/floor",
        summary: "Benchmark floor: verify the token, read one document",
        tags: [],
        auth: appToken,
        response: z.object({ appId: z.string(), clientId: z.string() }),
        errors: ["NOT_FOUND"],
        handler: async ({ req }) => {
          const snap = await apps().doc(appIds.get(req)!).get();
          const app = snap.data();
          if (!app) throw new ApiError("NOT_FOUND", "No such app");
          return { appId: snap.id, clientId: app.clientId };
        },
      }),
    ],
  };
}

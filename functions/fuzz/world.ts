/**
 * What the fuzzer creates before it starts, through the API itself (the test helpers' stories), so
 * that authorised requests get past authentication and reach real resources: two provider tenants
 * with apps, runtimes and packages, end users with an install, a reviewer with a queued review, and
 * tokens of every kind, valid and forged.
 */
import { createHash, createPublicKey, generateKeyPairSync } from "node:crypto";
import { SignJWT } from "jose";
import { adminDb } from "../test/helpers/admin";
import { taskList } from "../test/helpers/capabilities";
import { endUser, MARKETPLACE } from "../test/helpers/catalog";
import { weatherForecast } from "../test/helpers/descriptors";
import { api, expectStatus } from "../test/helpers/http";
import { createPackage, packageProvider, queuedReview, validate, versionInState, versionPath } from "../test/helpers/packages";
import { type SampleProvider, startSampleProvider } from "../test/helpers/sampleProvider";
import { localSecrets, localSigningKeys } from "../test/helpers/secrets";
import { createApp, login, PASSWORD, reviewer, signUp } from "../test/helpers/stories";
import { expiredAccessToken, expiredIdToken, forgeAccessToken } from "../test/helpers/tokens";
import type { World } from "./model";

const bearer = (token: string) => `Bearer ${token}`;
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** Members of a secret's JSON that are public (a signing key's id is in every token and the JWKS). */
const PUBLIC_MEMBERS = new Set(["kid", "retiredAt", "alg", "use", "kty", "createdAt"]);

/** Every string of at least 16 characters inside a secret (PEM lines, JSON members), and the secret itself. */
function secretFragments(value: string): string[] {
  const out = new Set<string>([value]);
  const walk = (v: unknown) => {
    if (typeof v === "string") {
      if (v.length >= 16) out.add(v);
      for (const line of v.split(/\r?\n/)) if (line.length >= 32 && !line.startsWith("-----")) out.add(line);
    } else if (v && typeof v === "object") for (const [k, sub] of Object.entries(v)) if (!PUBLIC_MEMBERS.has(k)) walk(sub);
  };
  try {
    walk(JSON.parse(value));
  } catch {
    walk(value);
  }
  return [...out].filter((s) => s.length >= 12);
}

async function tenant(provider: SampleProvider, company: string, listed: boolean) {
  const dev = await packageProvider(provider, company);
  await adminDb().collection("accounts").doc(dev.accountId).update({ planTier: "enterprise" });
  const { id: packageId, versionId, pkg } = await createPackage(dev.token, dev.app.id, { capabilities: [weatherForecast()] });
  let runId = "run_0000000000000000000A";
  if (listed) {
    const run = await validate(dev.token, packageId, versionId);
    if (!run.passed) throw new Error(`fuzz world: validation failed: ${JSON.stringify(run.findings)}`);
    runId = run.id;
    expectStatus(202, await api.post(`${versionPath(packageId, versionId)}/submit`, undefined, { token: dev.token }));
    await versionInState(dev.token, packageId, versionId, "published");
  }
  return {
    dev,
    tenant: {
      accountId: dev.accountId,
      appId: dev.app.id,
      runtimeAppId: dev.runtime!.runtimeAppId,
      packageId,
      versionId,
      runId,
      capability: `${pkg.slug}.weather_forecast`,
    },
  };
}

export async function createWorld(log: (line: string) => void = () => {}): Promise<World> {
  const provider = await startSampleProvider();
  try {
    log("fuzz world: provider A (listed weather package), provider B, end users, a reviewer");
    const [a, b] = [await tenant(provider, "Fuzz Alpha Ltd", true), await tenant(provider, "Fuzz Beta Ltd", false)];
    const victim = await createApp(a.dev.token, { name: "Fuzz victim" });
    const rev = await reviewer();

    // A write_actions package waits for a review: the reviewer routes get a real review id.
    const tasks = await createPackage(a.dev.token, a.dev.app.id, { name: "Fuzz Tasks", riskTier: "write_actions", capabilities: [taskList()] });
    const run = await validate(a.dev.token, tasks.id, tasks.versionId);
    if (!run.passed) throw new Error(`fuzz world: task validation failed: ${JSON.stringify(run.findings)}`);
    expectStatus(202, await api.post(`${versionPath(tasks.id, tasks.versionId)}/submit`, undefined, { token: a.dev.token }));
    const review = await queuedReview(rev.token, tasks.versionId);

    // End users (the free tier's 100 requests a minute each, so several share the catalog traffic).
    const users = [await endUser(), await endUser(), await endUser(), await endUser()];
    const install = await api.post(
      `${MARKETPLACE}/${a.tenant.packageId}/install`,
      { parameters: { weather_forecast: { location: "Berlin" } } },
      { token: users[0]!.token },
    );
    expectStatus(201, install);
    const bindingId = (install.body.data.capabilities as { id: string; bindingId: string }[])[0]!.bindingId;

    const unverified = await signUp(undefined, "Fuzz Unverified Ltd");
    const unverifiedToken = await login(unverified.email);

    const keys = localSigningKeys();
    const active = keys.find((k) => !k.retiredAt)!;
    const attacker = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const [, payload] = a.dev.runtime!.access.split(".");
    const algNone = `${b64url({ alg: "none", typ: "at+jwt", kid: active.kid })}.${payload}.`;
    // HS256 keyed with the public key's PEM: the classic algorithm confusion.
    const publicPem = createPublicKey(active.pem).export({ type: "spki", format: "pem" }).toString();
    const confusion = await new SignJWT(JSON.parse(Buffer.from(payload!, "base64url").toString()))
      .setProtectedHeader({ alg: "HS256", kid: active.kid, typ: "at+jwt" })
      .sign(new TextEncoder().encode(publicPem));

    const authorization: World["authorization"] = {
      none: undefined,
      malformed: ["Bearer", "Bearer not-a-token", "Bearer a.b.c", `Bearer ${"A".repeat(4096)}`, "bearer\t.", "Token abc"],
      "basic-garbage": [`Basic ${Buffer.from("prov_x:secret_y").toString("base64")}`, "Basic !!!", "Digest username=x"],
      "expired-id": [bearer(expiredIdToken(a.dev.token))],
      "expired-access": [bearer(await expiredAccessToken(a.dev.runtime!.access))],
      "alg-none": [bearer(algNone)],
      "alg-confusion": [bearer(confusion)],
      "wrong-audience": [bearer(await forgeAccessToken(a.dev.runtime!.access, active, { aud: "https://evil.example" }))],
      "foreign-key": [bearer(await forgeAccessToken(a.dev.runtime!.access, { kid: active.kid, pem: attacker }))],
      "provider-id": [bearer(a.dev.token)],
      "other-tenant-id": [bearer(b.dev.token)],
      "unverified-provider": [bearer(unverifiedToken)],
      "end-user": users.map((u) => bearer(u.token)),
      reviewer: [bearer(rev.token)],
      "app-access": [bearer(a.dev.runtime!.access)],
      "other-tenant-access": [bearer(b.dev.runtime!.access)],
    };

    const clientSecrets = [a.dev.app.client_secret, b.dev.app.client_secret, victim.client_secret];
    const secrets = [
      ...clientSecrets,
      ...clientSecrets.map((s) => createHash("sha256").update(s).digest("hex")),
      provider.config.apiKey,
      provider.config.oauthClientSecret,
      provider.config.customSecret,
      PASSWORD,
      ...Object.values(localSecrets()).flatMap(secretFragments),
      ...keys.flatMap((k) => secretFragments(k.pem)),
      attacker,
    ];
    return {
      authorization,
      a: {
        ...a.tenant,
        email: a.dev.email,
        password: a.dev.password,
        authProfile: { type: "api_key", headerName: provider.config.apiKeyHeader, value: provider.config.apiKey },
        webhookUrl: `${provider.url}/webhooks`,
        victimAppId: victim.id,
        victimClientId: victim.client_id,
        victimClientSecret: victim.client_secret,
        reviewId: review.id,
        bindingId,
        listingId: a.tenant.packageId,
      },
      b: b.tenant,
      secrets: [...new Set(secrets)].filter((s) => s.length >= 10),
      close: () => provider.close(),
    };
  } catch (error) {
    await provider.close();
    throw error;
  }
}

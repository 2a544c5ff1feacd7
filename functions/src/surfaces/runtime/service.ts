import type { Transaction } from "firebase-admin/firestore";
import { type z } from "zod";
import type { OAuthAppPrincipal } from "../../domain/accounts/principals";
import { type Clock, DAY, systemClock } from "../../kernel/clock";
import { newId } from "../../kernel/crypto";
import { ApiError, assert, conflict, notFound } from "../../kernel/errors";
import { db } from "../../kernel/firebase";
import type { Page } from "../../kernel/http/envelope";
import { log } from "../../kernel/logger";
import { OutboundError } from "../../kernel/outbound";
import { seal, secretHint } from "../../kernel/secretBox";
import { newSigningSecret, signingKeyBytes } from "../../kernel/standardWebhooks";
import { findOwnedApp } from "../../domain/accounts/app";
import { callProvider, ProviderAuthError, sealContext } from "../../domain/runtime/providerClient";
import {
  findOwnedRuntimeApp,
  runtimeAppOf,
  listRuntimeAppsOfAccount,
  runtimeApps,
  type AuthProfileDoc,
  type CapabilityTemplateDoc,
  type RuntimeApp,
  type RuntimeAppDoc,
  type SigningSecretDoc,
  type WebhookProfileDoc,
} from "../../domain/runtime/runtimeApp";
import { listDeliveries, createTestDelivery } from "../../domain/runtime/webhookDelivery";
import {
  type AuthProfileBody,
  type CapabilityTemplateBody,
  type CredentialSecretBody,
  DEFAULT_RETRY_POLICY,
  type HealthOut,
  type RegisterRuntimeAppBody,
  type UpdateRuntimeAppBody,
  type WebhookProfileBody,
} from "./schemas";
import { type WebhookDelivery } from "../../domain/runtime/webhookDelivery";

/** The probe of GET .../health: bounded well below the API's own timeout. */
const HEALTH_TIMEOUT_MS = 5_000;
const DEFAULT_GRACE_SECONDS = DAY / 1000;

export class RuntimeService {
  constructor(private readonly clock: Clock = systemClock) {}

  private async owned(principal: OAuthAppPrincipal, id: string, tx?: Transaction): Promise<RuntimeApp> {
    const app = await findOwnedRuntimeApp(principal.accountId, id, tx);
    assert(app, notFound("runtime app", id));
    return app;
  }

  /** Reads, changes and writes one runtime app in a transaction. */
  private async change(
    principal: OAuthAppPrincipal,
    id: string,
    update: (app: RuntimeApp, now: Date) => Partial<RuntimeAppDoc>,
  ): Promise<RuntimeApp> {
    const now = this.clock.now();
    return db().runTransaction(async (tx) => {
      const app = await this.owned(principal, id, tx);
      const changes = { ...update(app, now), updatedAt: now };
      tx.update(runtimeApps().doc(id), changes);
      return { ...app, ...changes };
    });
  }

  async register(principal: OAuthAppPrincipal, input: z.output<typeof RegisterRuntimeAppBody>): Promise<RuntimeApp> {
    const now = this.clock.now();
    const id = newId("rt");
    const app = await db().runTransaction(async (tx) => {
      const consoleApp = await findOwnedApp(principal.accountId, input.appId, tx);
      assert(consoleApp, notFound("app", input.appId));
      const existing = await runtimeAppOf(input.appId, tx);
      if (existing) throw conflict(`App ${input.appId} already has a runtime app (${existing.id}); update it with PATCH instead`);
      const doc: RuntimeAppDoc = {
        accountId: principal.accountId,
        appId: input.appId,
        displayName: input.displayName ?? consoleApp.name,
        endpointUrl: input.endpointUrl,
        status: input.status ?? "active",
        authProfile: null,
        capabilityTemplate: null,
        webhookProfile: null,
        signingSecrets: [],
        lastInvokedAt: null,
        createdAt: now,
        updatedAt: now,
      };
      tx.create(runtimeApps().doc(id), doc);
      return { id, ...doc };
    });
    log.runtimeAppRegistered(principal.accountId, id, input.appId);
    return app;
  }

  async list(principal: OAuthAppPrincipal, limit: number, offset: number): Promise<Page<RuntimeApp>> {
    const { items, total } = await listRuntimeAppsOfAccount(principal.accountId, limit, offset);
    return { items, total, limit, offset };
  }

  get(principal: OAuthAppPrincipal, id: string): Promise<RuntimeApp> {
    return this.owned(principal, id);
  }

  update(principal: OAuthAppPrincipal, id: string, input: z.output<typeof UpdateRuntimeAppBody>): Promise<RuntimeApp> {
    return this.change(principal, id, () => {
      const changes: Partial<RuntimeAppDoc> = {};
      if (input.endpointUrl !== undefined) changes.endpointUrl = input.endpointUrl;
      if (input.displayName !== undefined) changes.displayName = input.displayName;
      if (input.status !== undefined) changes.status = input.status;
      return changes;
    });
  }

  async putAuthProfile(principal: OAuthAppPrincipal, id: string, input: AuthProfileBody): Promise<AuthProfileDoc> {
    const sealed = (field: string, value: string) => ({ sealed: seal(value, sealContext.authSecret(id, field)), hint: secretHint(value) });
    const app = await this.change(principal, id, (_app, now) => {
      let profile: AuthProfileDoc;
      switch (input.type) {
        case "oauth2":
          profile = {
            type: "oauth2",
            tokenUrl: input.tokenUrl,
            clientId: input.clientId,
            clientSecret: sealed("clientSecret", input.clientSecret),
            scope: input.scope ?? null,
            tokenEndpointAuthMethod: input.tokenEndpointAuthMethod ?? "client_secret_basic",
            updatedAt: now,
          };
          break;
        case "api_key":
          profile = { type: "api_key", headerName: input.headerName, value: sealed("value", input.value), updatedAt: now };
          break;
        case "custom":
          profile = {
            type: "custom",
            headers: input.headers,
            secrets: Object.fromEntries(Object.entries(input.secrets ?? {}).map(([name, value]) => [name, sealed(`secrets.${name}`, value)])),
            updatedAt: now,
          };
          break;
      }
      return { authProfile: profile };
    });
    log.runtimeConfigChanged(id, "auth_profile");
    return app.authProfile!;
  }

  async putCapabilityTemplate(principal: OAuthAppPrincipal, id: string, input: CapabilityTemplateBody): Promise<CapabilityTemplateDoc> {
    const json = (schema: Record<string, unknown> | undefined) => (schema === undefined ? null : JSON.stringify(schema));
    const app = await this.change(principal, id, (_app, now) => ({
      capabilityTemplate: {
        capabilities: input.capabilities.map((c) => ({
          name: c.name,
          description: c.description,
          inputSchema: json(c.inputSchema),
          outputSchema: JSON.stringify(c.outputSchema),
          refreshIntervalSeconds: c.refreshIntervalSeconds,
          actions: (c.actions ?? []).map((a) => ({
            name: a.name,
            description: a.description,
            inputSchema: JSON.stringify(a.inputSchema),
            outputSchema: json(a.outputSchema),
          })),
          surfaceGuidance: {
            surfaces: c.surfaceGuidance.surfaces,
            summary: c.surfaceGuidance.summary ?? null,
            priority: c.surfaceGuidance.priority ?? "normal",
            notes: c.surfaceGuidance.notes ?? null,
          },
        })),
        updatedAt: now,
      },
    }));
    log.runtimeConfigChanged(id, "capability_template");
    return app.capabilityTemplate!;
  }

  /** Upserts the profile (re-enabling a disabled endpoint); creates the first signing secret if there is none. */
  async putWebhookProfile(
    principal: OAuthAppPrincipal,
    id: string,
    input: WebhookProfileBody,
  ): Promise<{ profile: WebhookProfileDoc; newSecret: string | null }> {
    let newSecret: string | null = null;
    const app = await this.change(principal, id, (current, now) => {
      const profile: WebhookProfileDoc = {
        url: input.url,
        events: input.events,
        retryPolicy: input.retryPolicy ?? DEFAULT_RETRY_POLICY,
        status: "enabled",
        disabledAt: null,
        disabledReason: null,
        updatedAt: now,
      };
      if (current.signingSecrets.length) return { webhookProfile: profile };
      newSecret = newSigningSecret();
      const secret: SigningSecretDoc = { sealed: seal(newSecret, sealContext.signingSecret(id)), createdAt: now, expiresAt: null };
      return { webhookProfile: profile, signingSecrets: [secret] };
    });
    log.runtimeConfigChanged(id, "webhook_profile");
    return { profile: app.webhookProfile!, newSecret };
  }

  /** Sets or rotates the signing secret; the previous one keeps signing for the grace period. */
  async putCredentialSecret(principal: OAuthAppPrincipal, id: string, input: z.output<typeof CredentialSecretBody>) {
    if (input.secret !== undefined && !signingKeyBytes(input.secret)) {
      throw new ApiError("VALIDATION_ERROR", "secret: Must be whsec_ followed by 24 to 64 bytes in base64", {
        details: [{ field: "secret", message: "Must be whsec_ followed by 24 to 64 bytes in base64" }],
      });
    }
    const secret = input.secret ?? newSigningSecret();
    const graceMs = (input.gracePeriodSeconds ?? DEFAULT_GRACE_SECONDS) * 1000;
    const app = await this.change(principal, id, (current, now) => {
      const fresh: SigningSecretDoc = { sealed: seal(secret, sealContext.signingSecret(id)), createdAt: now, expiresAt: null };
      const previous = current.signingSecrets[0];
      const kept: SigningSecretDoc[] = previous && graceMs > 0 ? [{ ...previous, expiresAt: new Date(now.getTime() + graceMs) }] : [];
      return { signingSecrets: [fresh, ...kept] };
    });
    log.runtimeConfigChanged(id, "credential_secret");
    return { secret, createdAt: app.signingSecrets[0]!.createdAt, previousSecretExpiresAt: app.signingSecrets[1]?.expiresAt ?? null };
  }

  async testWebhook(principal: OAuthAppPrincipal, id: string): Promise<WebhookDelivery> {
    const app = await this.owned(principal, id);
    if (!app.webhookProfile) throw conflict("This runtime app has no webhook profile; PUT one first");
    if (app.webhookProfile.status === "disabled") throw conflict("The webhook endpoint is disabled; PUT the webhook profile again to re-enable it");
    return createTestDelivery(app, this.clock);
  }

  async deliveries(
    principal: OAuthAppPrincipal,
    id: string,
    status: string | undefined,
    limit: number,
    offset: number,
  ): Promise<Page<WebhookDelivery>> {
    await this.owned(principal, id);
    const { items, total } = await listDeliveries(id, status, limit, offset);
    return { items, total, limit, offset };
  }

  /** Probes GET <endpoint>/health for real, with the app's credentials and signature. */
  async health(principal: OAuthAppPrincipal, id: string, requestId: string): Promise<z.input<typeof HealthOut>> {
    const app = await this.owned(principal, id);
    const registered = (app.capabilityTemplate?.capabilities ?? []).flatMap((c) => [c.name, ...c.actions.map((a) => `${c.name}.${a.name}`)]);
    const checkedAt = this.clock.now();
    const endpoint = {
      url: `${app.endpointUrl.replace(/\/+$/, "")}/health`,
      reachable: false,
      statusCode: null as number | null,
      latencyMs: null as number | null,
      error: null as { kind: string; message: string } | null,
    };
    let reported: string[] | null = null;
    let uptimeSeconds: number | null = null;
    let status: "healthy" | "degraded" | "unreachable" = "unreachable";
    try {
      const response = await callProvider(app, {
        path: "/health",
        method: "GET",
        requestId,
        clock: this.clock,
        timeoutMs: HEALTH_TIMEOUT_MS,
        maxResponseBytes: 64 * 1024,
      });
      endpoint.reachable = true;
      endpoint.statusCode = response.status;
      endpoint.latencyMs = response.durationMs;
      status = "degraded";
      if (response.status < 200 || response.status > 299) {
        endpoint.error = { kind: "http_status", message: `Health endpoint answered HTTP ${response.status}` };
      } else {
        const body = response.json() as { status?: unknown; uptimeSeconds?: unknown; capabilities?: unknown };
        if (typeof body !== "object" || body === null) throw new OutboundError("bad_body", "Health response is not a JSON object");
        if (typeof body.uptimeSeconds === "number" && body.uptimeSeconds >= 0) uptimeSeconds = body.uptimeSeconds;
        if (Array.isArray(body.capabilities)) reported = body.capabilities.filter((c): c is string => typeof c === "string");
        if (body.status !== "ok")
          endpoint.error = { kind: "bad_body", message: `Health response status is ${JSON.stringify(body.status ?? null)}, not "ok"` };
        else status = "healthy";
      }
    } catch (error) {
      if (error instanceof ProviderAuthError) endpoint.error = { kind: "auth_failed", message: error.message };
      else if (error instanceof OutboundError) {
        endpoint.error = { kind: error.kind, message: error.message };
        if (error.kind === "bad_body" || error.kind === "too_large") {
          endpoint.reachable = true;
          status = "degraded";
        }
        endpoint.latencyMs = error.details.durationMs ?? endpoint.latencyMs;
      } else throw error;
    }
    const missing = reported === null ? [] : registered.filter((h) => !reported!.includes(h));
    if (status === "healthy" && missing.length) status = "degraded";
    log.healthProbe(id, status, endpoint.latencyMs, endpoint.error?.kind ?? null);
    return {
      runtimeAppId: id,
      status,
      runtimeStatus: app.status,
      checkedAt: checkedAt.toISOString(),
      endpoint,
      handlers: { registered, reportedByProvider: reported, missing },
      uptimeSeconds,
      lastInvokedAt: app.lastInvokedAt ? app.lastInvokedAt.toISOString() : null,
    };
  }
}

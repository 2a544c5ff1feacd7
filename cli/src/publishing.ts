import { type Aiffinity, AiffinityError, type Data } from "@aiffinity/sdk";
import { CliError, type Context, EXIT } from "./context.js";
import { type Derived, normalizedTemplate, same, sameAuthProfile, sameWebhookProfile } from "./manifest/derive.js";
import { formatPath, type LoadedManifest, ManifestProblems, type Segment } from "./manifest/load.js";

/**
 * Applies a manifest to the API, idempotently: every object is read first and written only when
 * it differs from what the manifest derives (a second run with nothing changed writes nothing).
 * Order: console app and its credentials, runtime app, signing secret, auth profile, capability
 * template, webhook profile, package listing, version content. `validate` and `publish` share it.
 */

export type Package = Data<"/v1/providers/packages/manage/{id}", "get">;
export type Version = Data<"/v1/providers/packages/manage/{id}/versions/{vid}", "get">;
export type RuntimeApp = Data<"/v1/providers/runtime/apps/{id}", "get">;
export type App = Data<"/v1/providers/apps/{id}", "get">;
export type ValidationRun = Data<"/v1/providers/packages/manage/{id}/versions/{vid}/validations/{runId}", "get">;

export interface Change {
  /** What the manifest manages, e.g. `capability template`. */
  object: string;
  action: "created" | "updated" | "unchanged" | "planned";
  id?: string;
  detail?: string;
}

export interface Applied {
  changes: Change[];
  /** Something was written in this run. */
  changed: boolean;
  app: App | null;
  appClient: Aiffinity | null;
  runtimeApp: RuntimeApp | null;
  pkg: Package | null;
  version: Version | null;
  /** A signing secret the API generated in this run (shown once). */
  generatedSigningSecret: string | null;
}

export interface ApplyOptions {
  dryRun?: boolean;
  /** Send the auth profile's secrets even when their hints match (after rotating them at your side). */
  rotateSecrets?: boolean;
  /** Set the manifest's signing secret again (rotation; the previous one keeps signing for 24 h). */
  rotateSigningSecret?: boolean;
  /** Rotate the app's client secret when no credentials for it are available here. */
  rotateClientSecret?: boolean;
}

export async function findPackage(console: Aiffinity, slug: string): Promise<Package | null> {
  for await (const p of console.paginate("/v1/providers/packages/manage")) {
    if (p.slug === slug) return console.get("/v1/providers/packages/manage/{id}", { params: { path: { id: p.id } } });
  }
  return null;
}

export async function findAppByName(console: Aiffinity, name: string): Promise<App | null> {
  for await (const app of console.paginate("/v1/providers/apps")) if (app.name === name) return app;
  return null;
}

export async function findRuntimeApp(appClient: Aiffinity, appId: string): Promise<RuntimeApp | null> {
  for await (const r of appClient.paginate("/v1/providers/runtime/apps")) if (r.appId === appId) return r;
  return null;
}

const notFound = (error: unknown) => error instanceof AiffinityError && error.status === 404;

/** The console app of a package (or, before it exists, of the manifest's app name), and a client acting as it. */
export async function appOf(ctx: Context, console: Aiffinity, appId: string, options: { rotateClientSecret?: boolean } = {}): Promise<{ app: App; client: Aiffinity; rotated: boolean }> {
  const app = await console.get("/v1/providers/apps/{id}", { params: { path: { id: appId } } });
  let credentials = ctx.appCredentials(app.id, app.client_id);
  let rotated = false;
  if (!credentials) {
    if (!options.rotateClientSecret) {
      throw new CliError(
        `No client credentials for app ${app.id} (${app.name}) here: set AIFFINITY_CLIENT_ID and AIFFINITY_CLIENT_SECRET, or pass --rotate-client-secret (the app's current secret stops working at once)`,
        EXIT.auth,
      );
    }
    const fresh = await console.post("/v1/providers/apps/{id}/rotate-secret", { params: { path: { id: app.id } } });
    credentials = { clientId: fresh.client_id, clientSecret: fresh.client_secret };
    ctx.saveAppCredentials(app.id, credentials);
    rotated = true;
  }
  return { app, client: ctx.app(credentials), rotated };
}

/** Where a request body field (`capabilities.0.name`) of each call is in the manifest. */
type FieldMap = (field: Segment[]) => Segment[];

const capabilityField = (rest: Segment[]): Segment[] => {
  // The template names capabilities and actions `name` and nests `surfaceGuidance`; the manifest says `id` and keeps them flat.
  const [i, field, ...more] = rest;
  if (field === undefined) return ["capabilities", ...rest];
  if (field === "name" && more.length === 0) return ["capabilities", i!, "id"];
  if (field === "surfaceGuidance") return ["capabilities", i!, ...more];
  if (field === "actions" && more[1] === "name") return ["capabilities", i!, "actions", more[0]!, "id"];
  return ["capabilities", i!, field, ...more];
};

export const FIELD_MAPS: Record<string, FieldMap> = {
  template: ([head, ...rest]) => (head === "capabilities" ? capabilityField(rest) : ["capabilities"]),
  package: ([head, ...rest]) => (head === "capabilities" ? ["capabilities", ...rest] : head === "riskTier" || head === "version" || head === "changelog" ? ["package", head] : head === "appId" ? ["app"] : ["package", ...(head === undefined ? [] : [head]), ...rest]),
  runtime: ([head]) => (head === "endpointUrl" || head === "displayName" ? ["runtime", head] : ["runtime"]),
  auth: (field) => ["runtime", "auth", ...field],
  webhooks: (field) => ["webhooks", ...field],
  app: (field) => ["app", ...field],
};

/**
 * A 400 VALIDATION_ERROR of a call made from the manifest, as problems at the manifest's lines:
 * each detail's field is mapped to the manifest, and a JSON pointer in the message (a JSON Schema
 * the API refused) goes deeper, to the offending keyword.
 */
export function asManifestProblems(error: unknown, loaded: LoadedManifest, map: FieldMap): unknown {
  if (!(error instanceof AiffinityError) || error.code !== "VALIDATION_ERROR") return error;
  const details = error.details.length ? error.details : [{ field: "", message: error.message }];
  return new ManifestProblems(
    loaded.display,
    details.map((d) => {
      const field = d.field ? d.field.split(".").map((s) => (/^\d+$/.test(s) ? Number(s) : s)) : [];
      const pointer = /: (\/[^\s]*) /.exec(d.message)?.[1];
      const deeper = pointer ? pointer.split("/").slice(1).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~")).map((s) => (/^\d+$/.test(s) ? Number(s) : s)) : [];
      const path = [...map(field), ...deeper];
      return { path: formatPath(path), message: d.message, position: loaded.locate(path) };
    }),
  );
}

export async function applyManifest(ctx: Context, loaded: LoadedManifest, derived: Derived, options: ApplyOptions = {}): Promise<Applied> {
  const { out } = ctx;
  const dry = Boolean(options.dryRun);
  const changes: Change[] = [];
  const record = (change: Change) => {
    changes.push(change);
    return change;
  };
  const mapped = <T>(map: FieldMap, call: Promise<T>): Promise<T> =>
    call.catch((error: unknown) => {
      throw asManifestProblems(error, loaded, map);
    });
  const result: Applied = { changes, changed: false, app: null, appClient: null, runtimeApp: null, pkg: null, version: null, generatedSigningSecret: null };
  const console = await ctx.console();

  const account = await console.get("/v1/providers/account");
  if (account.status === "pending_verification") throw new CliError(`The account ${account.email} is not verified yet: run \`aiffinity verify <token>\` with the token from the e-mail`, EXIT.auth);

  // The package, by its slug (unique, immutable): it names its app.
  let pkg = await out.step("Reading the package", () => findPackage(console, derived.slug), (p) => (p ? `${p.id} (${p.status})` : "not created yet"));

  // The console app: the package's, else the one named in the manifest, else a new one.
  let app: App | null = null;
  if (pkg && !pkg.orphaned) app = await console.get("/v1/providers/apps/{id}", { params: { path: { id: pkg.appId } } }).catch((e) => (notFound(e) ? null : Promise.reject(e)));
  app ??= await findAppByName(console, derived.app.name);
  let credentials: { clientId: string; clientSecret: string } | null = null;
  if (!app) {
    if (dry) record({ object: "app", action: "planned", detail: `create "${derived.app.name}"` });
    else {
      const created = await out.step(`Creating the app "${derived.app.name}"`, () => mapped(FIELD_MAPS.app!, console.post("/v1/providers/apps", { body: { name: derived.app.name, ...(derived.app.description ? { description: derived.app.description } : {}) } })), (a) => a.id);
      credentials = { clientId: created.client_id, clientSecret: created.client_secret };
      ctx.saveAppCredentials(created.id, credentials);
      const { client_secret: _secret, ...rest } = created;
      app = rest as App;
      record({ object: "app", action: "created", id: app.id, detail: "client credentials saved" });
    }
  } else if (derived.app.managed && (app.name !== derived.app.name || (derived.app.description !== undefined && (app.description ?? "") !== derived.app.description))) {
    const body = { name: derived.app.name, ...(derived.app.description !== undefined ? { description: derived.app.description } : {}) };
    if (dry) record({ object: "app", action: "planned", id: app.id, detail: "update name/description" });
    else {
      app = await mapped(FIELD_MAPS.app!, console.patch("/v1/providers/apps/{id}", { params: { path: { id: app.id } }, body }));
      record({ object: "app", action: "updated", id: app.id });
    }
  } else record({ object: "app", action: "unchanged", id: app.id });
  result.app = app;
  if (!app) return finish(result);

  let appClient: Aiffinity;
  if (credentials) appClient = ctx.app(credentials);
  else {
    const resolved = await appOf(ctx, console, app.id, { rotateClientSecret: options.rotateClientSecret && !dry });
    appClient = resolved.client;
    if (resolved.rotated) record({ object: "app client secret", action: "updated", id: app.id, detail: "rotated; new credentials saved" });
  }
  result.appClient = appClient;

  // The runtime app: endpoint and display name.
  let runtime = await out.step("Reading the runtime app", () => findRuntimeApp(appClient, app!.id), (r) => (r ? r.id : "not registered yet"));
  const { endpointUrl, displayName } = derived.runtime;
  if (!runtime) {
    if (dry) record({ object: "runtime app", action: "planned", detail: `register ${endpointUrl}` });
    else {
      runtime = await mapped(FIELD_MAPS.runtime!, appClient.post("/v1/providers/runtime/apps", { body: { appId: app.id, endpointUrl, ...(displayName ? { displayName } : {}) } }));
      record({ object: "runtime app", action: "created", id: runtime.id, detail: endpointUrl });
    }
  } else if (runtime.endpointUrl !== endpointUrl || (displayName !== undefined && runtime.displayName !== displayName)) {
    if (dry) record({ object: "runtime app", action: "planned", id: runtime.id, detail: `endpoint ${endpointUrl}` });
    else {
      runtime = await mapped(FIELD_MAPS.runtime!, appClient.patch("/v1/providers/runtime/apps/{id}", { params: { path: { id: runtime.id } }, body: { endpointUrl, ...(displayName ? { displayName } : {}) } }));
      record({ object: "runtime app", action: "updated", id: runtime.id, detail: endpointUrl });
    }
  } else record({ object: "runtime app", action: "unchanged", id: runtime.id });

  if (runtime) {
    const id = runtime.id;
    const path = { params: { path: { id } } };
    // Signing secret first: the webhook profile would otherwise generate one.
    if (derived.signingSecret && (!runtime.credentialSecret.configured || options.rotateSigningSecret)) {
      if (dry) record({ object: "signing secret", action: "planned", id });
      else {
        await mapped(() => ["runtime", "signingSecret"], appClient.put("/v1/providers/runtime/apps/{id}/credential-secret", { ...path, body: { secret: derived.signingSecret } }));
        record({ object: "signing secret", action: runtime.credentialSecret.configured ? "updated" : "created", id, detail: "from runtime.signingSecret" });
      }
    } else if (derived.signingSecret) record({ object: "signing secret", action: "unchanged", id, detail: "set earlier (--rotate-signing-secret sets it again)" });

    if (options.rotateSecrets || !sameAuthProfile(runtime.authProfile as Record<string, unknown> | null, derived.authProfile)) {
      if (dry) record({ object: "auth profile", action: "planned", id, detail: derived.authProfile.type });
      else {
        await mapped(FIELD_MAPS.auth!, appClient.put("/v1/providers/runtime/apps/{id}/auth-profile", { ...path, body: derived.authProfile }));
        record({ object: "auth profile", action: runtime.authProfile ? "updated" : "created", id, detail: derived.authProfile.type });
      }
    } else record({ object: "auth profile", action: "unchanged", id });

    const storedTemplate = runtime.capabilityTemplate?.capabilities ?? null;
    if (!storedTemplate || !same(storedTemplate, normalizedTemplate(derived.template))) {
      if (dry) record({ object: "capability template", action: "planned", id });
      else {
        await mapped(FIELD_MAPS.template!, appClient.put("/v1/providers/runtime/apps/{id}/capability-template", { ...path, body: derived.template }));
        record({ object: "capability template", action: storedTemplate ? "updated" : "created", id, detail: `${derived.template.capabilities.length} capabilities` });
      }
    } else record({ object: "capability template", action: "unchanged", id });

    if (derived.webhookProfile) {
      if (!sameWebhookProfile(runtime.webhookProfile as Record<string, unknown> | null, derived.webhookProfile)) {
        if (dry) record({ object: "webhook profile", action: "planned", id, detail: derived.webhookProfile.url });
        else {
          const profile = await mapped(FIELD_MAPS.webhooks!, appClient.put("/v1/providers/runtime/apps/{id}/webhook-profile", { ...path, body: derived.webhookProfile! }));
          if (profile.signingSecret) result.generatedSigningSecret = profile.signingSecret;
          record({ object: "webhook profile", action: runtime.webhookProfile ? "updated" : "created", id, detail: derived.webhookProfile.url });
        }
      } else record({ object: "webhook profile", action: "unchanged", id });
    }
    if (!dry && changes.some((c) => c.id === id && c.action !== "unchanged")) runtime = await appClient.get("/v1/providers/runtime/apps/{id}", path);
  }
  result.runtimeApp = runtime;

  // The package's listing metadata.
  const { listing, version: content } = derived;
  if (!pkg) {
    if (dry) {
      record({ object: "package", action: "planned", detail: `create ${derived.slug}` });
      record({ object: "version", action: "planned", detail: `create ${content.version}` });
      return finish(result);
    }
    pkg = await out.step(`Creating the package ${derived.slug}`, () =>
      mapped(FIELD_MAPS.package!, console.post("/v1/providers/packages/manage", {
        body: {
          appId: app!.id,
          slug: derived.slug,
          ...listing,
          riskTier: content.riskTier as never,
          version: content.version,
          capabilities: content.capabilities,
          ...(content.changelog ? { changelog: content.changelog } : {}),
        } as never,
      })),
      (p) => p.id,
    );
    record({ object: "package", action: "created", id: pkg.id, detail: derived.slug });
    record({ object: "version", action: "created", id: pkg.versions[0]?.id, detail: content.version });
  } else {
    const differing: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(listing)) if (!same((pkg as Record<string, unknown>)[key], value)) differing[key] = value;
    if (pkg.orphaned || pkg.appId !== app.id) differing.appId = app.id;
    if (Object.keys(differing).length) {
      if (dry) record({ object: "package", action: "planned", id: pkg.id, detail: `update ${Object.keys(differing).join(", ")}` });
      else {
        await mapped(FIELD_MAPS.package!, console.patch("/v1/providers/packages/manage/{id}", { params: { path: { id: pkg.id } }, body: differing as never }));
        record({ object: "package", action: "updated", id: pkg.id, detail: Object.keys(differing).join(", ") });
      }
    } else record({ object: "package", action: "unchanged", id: pkg.id });

    // The version: created, or updated while it is still a draft; immutable once submitted.
    const existing = pkg.versions.find((v) => v.version === content.version);
    if (!existing) {
      if (dry) record({ object: "version", action: "planned", detail: `create ${content.version}` });
      else {
        const created = await mapped(FIELD_MAPS.package!, console.post("/v1/providers/packages/manage/{id}/versions", {
          params: { path: { id: pkg.id } },
          body: { version: content.version, riskTier: content.riskTier as never, capabilities: content.capabilities, ...(content.changelog ? { changelog: content.changelog } : {}) },
        }));
        record({ object: "version", action: "created", id: created.id, detail: content.version });
      }
    } else {
      const stored = await console.get("/v1/providers/packages/manage/{id}/versions/{vid}", { params: { path: { id: pkg.id, vid: existing.id } } });
      const differs = !same(stored.capabilities, content.capabilities) || stored.riskTier !== content.riskTier || (stored.changelog ?? null) !== content.changelog;
      if (!differs) record({ object: "version", action: "unchanged", id: stored.id, detail: `${content.version} (${stored.state})` });
      else if (stored.state === "draft" || stored.state === "validated") {
        if (dry) record({ object: "version", action: "planned", id: stored.id, detail: `update ${content.version}` });
        else {
          await mapped(FIELD_MAPS.package!, console.patch("/v1/providers/packages/manage/{id}/versions/{vid}", {
            params: { path: { id: pkg.id, vid: stored.id } },
            body: { capabilities: content.capabilities, riskTier: content.riskTier as never, changelog: content.changelog },
          }));
          record({ object: "version", action: "updated", id: stored.id, detail: content.version });
        }
      } else {
        const at = loaded.locate(["package", "version"]);
        throw new CliError(
          `Version ${content.version} is ${stored.state} and cannot change (versions are immutable once submitted): bump package.version in ${loaded.display}${at ? `:${at.line}` : ""} to publish these changes`,
          EXIT.failure,
        );
      }
    }
    if (dry) {
      result.pkg = pkg;
      return finish(result);
    }
  }
  pkg = await console.get("/v1/providers/packages/manage/{id}", { params: { path: { id: pkg.id } } });
  result.pkg = pkg;
  const summary = pkg.versions.find((v) => v.version === content.version)!;
  result.version = await console.get("/v1/providers/packages/manage/{id}/versions/{vid}", { params: { path: { id: pkg.id, vid: summary.id } } });
  return finish(result);
}

function finish(result: Applied): Applied {
  result.changed = result.changes.some((c) => c.action === "created" || c.action === "updated");
  return result;
}

import { ENUMS } from "@aiffinity/sdk";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import {
  type AuthProfileInput,
  type CapabilityTemplateInput,
  listDeliveries,
  probeHealth,
  putAuthProfile,
  putCapabilityTemplate,
  putWebhookProfile,
  registerRuntime,
  rotateSigningSecret,
  type RuntimeApp,
  runtimeOfApp,
  sendTestWebhook,
  updateRuntime,
} from "../api";
import { useAppPicker } from "../components/AppPicker";
import { ErrorNotice, Field, formatDate, Loading, Pager, SecretOnce, StatusBadge, Success } from "../components/ui";

export function RuntimePage() {
  const { appId, picker } = useAppPicker();
  const runtime = useQuery({ queryKey: ["runtime", appId], queryFn: () => runtimeOfApp(appId!), enabled: !!appId });
  return (
    <>
      <h1>Runtime</h1>
      <p className="lead">Where Aiffinity calls your service, how it authenticates, what it offers, and where events go.</p>
      {picker}
      {runtime.isPending && appId && <Loading label="Loading the runtime" />}
      <ErrorNotice error={runtime.error} title="Could not load the runtime" />
      {runtime.data === null && appId && <RegisterRuntime appId={appId} />}
      {runtime.data && appId && <RuntimeDetail appId={appId} runtime={runtime.data} />}
    </>
  );
}

function RegisterRuntime({ appId }: { appId: string }) {
  const queryClient = useQueryClient();
  const [endpointUrl, setEndpointUrl] = useState("");
  const [displayName, setDisplayName] = useState("");
  const register = useMutation({
    mutationFn: () => registerRuntime(appId, { endpointUrl, ...(displayName ? { displayName } : {}) }),
    onSuccess: (runtime) => queryClient.setQueryData(["runtime", appId], runtime),
  });
  return (
    <section aria-labelledby="rt-register">
      <h2 id="rt-register">Register the runtime</h2>
      <p>Your service's base URL: Aiffinity calls its capabilities there (see the runtime contract in the docs).</p>
      <ErrorNotice error={register.error} title="Could not register the runtime" />
      <form
        onSubmit={(e) => {
          e.preventDefault();
          register.mutate();
        }}
      >
        <Field label="Endpoint URL" hint="https (loopback http only on the local emulators).">
          {(p) => <input {...p} type="url" required value={endpointUrl} onChange={(e) => setEndpointUrl(e.target.value)} placeholder="https://runtime.example.com" />}
        </Field>
        <Field label="Display name (optional)">{(p) => <input {...p} value={displayName} onChange={(e) => setDisplayName(e.target.value)} />}</Field>
        <button type="submit" disabled={register.isPending}>
          {register.isPending ? "Registering…" : "Register runtime"}
        </button>
      </form>
    </section>
  );
}

function RuntimeDetail({ appId, runtime }: { appId: string; runtime: RuntimeApp }) {
  const queryClient = useQueryClient();
  const refresh = (next: RuntimeApp) => queryClient.setQueryData(["runtime", appId], next);
  const reload = () => queryClient.invalidateQueries({ queryKey: ["runtime", appId] });
  const [endpointUrl, setEndpointUrl] = useState(runtime.endpointUrl);
  const update = useMutation({ mutationFn: (body: Parameters<typeof updateRuntime>[2]) => updateRuntime(appId, runtime.id, body), onSuccess: refresh });
  const health = useMutation({ mutationFn: () => probeHealth(appId, runtime.id) });
  return (
    <>
      <section aria-labelledby="rt-endpoint">
        <h2 id="rt-endpoint">Endpoint and status</h2>
        <dl className="facts">
          <dt>Runtime app</dt>
          <dd>
            <code>{runtime.id}</code> · {runtime.displayName}
          </dd>
          <dt>Status</dt>
          <dd>
            <StatusBadge value={runtime.status} />
          </dd>
          <dt>Last invocation</dt>
          <dd>{formatDate(runtime.lastInvokedAt)}</dd>
        </dl>
        <ErrorNotice error={update.error} title="Could not update the runtime" />
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            update.mutate({ endpointUrl });
          }}
        >
          <Field label="Endpoint URL">{(p) => <input {...p} type="url" required value={endpointUrl} onChange={(e) => setEndpointUrl(e.target.value)} />}</Field>
          <button type="submit" disabled={update.isPending}>
            Save endpoint
          </button>
          <button type="button" className="secondary" onClick={() => update.mutate({ status: runtime.status === "active" ? "paused" : "active" })} disabled={update.isPending}>
            {runtime.status === "active" ? "Pause the runtime" : "Resume the runtime"}
          </button>
        </form>
        <h3>Health probe</h3>
        <p>Calls your endpoint's /health now with the configured credentials.</p>
        <button type="button" onClick={() => health.mutate()} disabled={health.isPending}>
          {health.isPending ? "Probing…" : "Probe health"}
        </button>
        {health.isPending && <Loading label="Probing the runtime (up to 5 s)" />}
        <ErrorNotice error={health.error} title="The probe failed" />
        {health.data && (
          <div className="probe" role="region" aria-label="Health probe result">
            <p>
              <StatusBadge value={health.data.status} /> checked {formatDate(health.data.checkedAt)}
            </p>
            <dl className="facts">
              <dt>Endpoint</dt>
              <dd>
                {health.data.endpoint.reachable ? "reachable" : "unreachable"}
                {health.data.endpoint.statusCode !== null && `, HTTP ${health.data.endpoint.statusCode}`}
                {health.data.endpoint.latencyMs !== null && `, ${health.data.endpoint.latencyMs} ms`}
                {health.data.endpoint.error && ` — ${health.data.endpoint.error.kind}: ${health.data.endpoint.error.message}`}
              </dd>
              <dt>Handlers</dt>
              <dd>
                {health.data.handlers.registered.join(", ") || "none"}
                {health.data.handlers.missing.length > 0 && <strong> · missing: {health.data.handlers.missing.join(", ")}</strong>}
              </dd>
              <dt>Uptime</dt>
              <dd>{health.data.uptimeSeconds === null ? "—" : `${Math.round(health.data.uptimeSeconds)} s`}</dd>
            </dl>
          </div>
        )}
      </section>
      <AuthProfileSection appId={appId} runtime={runtime} onSaved={reload} />
      <TemplateSection appId={appId} runtime={runtime} onSaved={reload} />
      <WebhookSection appId={appId} runtime={runtime} onSaved={reload} />
    </>
  );
}

function AuthProfileSection({ appId, runtime, onSaved }: { appId: string; runtime: RuntimeApp; onSaved: () => void }) {
  const current = runtime.authProfile;
  const [type, setType] = useState<AuthProfileInput["type"]>(current?.type ?? "api_key");
  const [fields, setFields] = useState<Record<string, string>>({
    headerName: current?.type === "api_key" ? current.headerName : "x-api-key",
    tokenUrl: current?.type === "oauth2" ? current.tokenUrl : "",
    clientId: current?.type === "oauth2" ? current.clientId : "",
    scope: current?.type === "oauth2" ? (current.scope ?? "") : "",
    headers: current?.type === "custom" ? JSON.stringify(current.headers, null, 2) : '{\n  "x-my-auth": "Token {{secret.token}}"\n}',
  });
  const [secret, setSecret] = useState("");
  const [localError, setLocalError] = useState<string | null>(null);
  const set = (key: string) => (e: { target: { value: string } }) => setFields({ ...fields, [key]: e.target.value });
  const save = useMutation({
    mutationFn: () => {
      let body: AuthProfileInput;
      if (type === "api_key") body = { type, headerName: fields.headerName!, value: secret };
      else if (type === "oauth2") body = { type, tokenUrl: fields.tokenUrl!, clientId: fields.clientId!, clientSecret: secret, ...(fields.scope ? { scope: fields.scope } : {}) };
      else body = { type, headers: JSON.parse(fields.headers!) as Record<string, string>, ...(secret ? { secrets: { token: secret } } : {}) };
      return putAuthProfile(appId, runtime.id, body);
    },
    onSuccess: () => {
      setSecret("");
      onSaved();
    },
  });
  return (
    <section aria-labelledby="rt-auth">
      <h2 id="rt-auth">Auth profile</h2>
      {current ? (
        <p>
          Aiffinity authenticates with <strong>{current.type}</strong>
          {current.type === "api_key" && (
            <>
              {" "}
              in <code>{current.headerName}</code>, value <code aria-label="masked secret">{current.value}</code>
            </>
          )}
          {current.type === "oauth2" && (
            <>
              {" "}
              against <code>{current.tokenUrl}</code> as <code>{current.clientId}</code>, secret <code>{current.clientSecret}</code>
            </>
          )}
          {" "}
          (updated {formatDate(current.updatedAt)}). Secrets are write-only: they are stored encrypted and only ever shown masked.
        </p>
      ) : (
        <p>Not set: Aiffinity sends no credentials to your runtime yet.</p>
      )}
      <ErrorNotice error={save.error} title="Could not save the auth profile" />
      {localError && (
        <p className="field-error" role="alert">
          {localError}
        </p>
      )}
      {save.isSuccess && (
        <Success>
          <p>Auth profile saved.</p>
        </Success>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setLocalError(null);
          if (type === "custom") {
            try {
              JSON.parse(fields.headers!);
            } catch {
              setLocalError("Headers must be a JSON object.");
              return;
            }
          }
          save.mutate();
        }}
      >
        <Field label="Type">
          {(p) => (
            <select {...p} value={type} onChange={(e) => setType(e.target.value as AuthProfileInput["type"])}>
              <option value="api_key">API key in a header</option>
              <option value="oauth2">OAuth 2.0 client credentials</option>
              <option value="custom">Custom headers</option>
            </select>
          )}
        </Field>
        {type === "api_key" && <Field label="Header name">{(p) => <input {...p} required value={fields.headerName} onChange={set("headerName")} />}</Field>}
        {type === "oauth2" && (
          <>
            <Field label="Token URL">{(p) => <input {...p} type="url" required value={fields.tokenUrl} onChange={set("tokenUrl")} />}</Field>
            <Field label="Client id">{(p) => <input {...p} required value={fields.clientId} onChange={set("clientId")} />}</Field>
            <Field label="Scope (optional)">{(p) => <input {...p} value={fields.scope} onChange={set("scope")} />}</Field>
          </>
        )}
        {type === "custom" && (
          <Field label="Headers (JSON)" hint="Use {{secret.token}} where the secret goes.">
            {(p) => <textarea {...p} rows={3} className="code" value={fields.headers} onChange={set("headers")} />}
          </Field>
        )}
        <Field label={type === "api_key" ? "API key" : type === "oauth2" ? "Client secret" : "Secret (token)"} hint="Write-only: enter it again to change the profile.">
          {(p) => <input {...p} type="password" autoComplete="off" required={type !== "custom"} value={secret} onChange={(e) => setSecret(e.target.value)} />}
        </Field>
        <button type="submit" disabled={save.isPending}>
          {save.isPending ? "Saving…" : "Save auth profile"}
        </button>
      </form>
    </section>
  );
}

const EXAMPLE_TEMPLATE: CapabilityTemplateInput = {
  capabilities: [
    {
      name: "weather_forecast",
      description: "Daily highs, lows and conditions for a location.",
      inputSchema: { type: "object", properties: { location: { type: "string" } }, required: ["location"] },
      outputSchema: { type: "object", properties: { location: { type: "string" }, days: { type: "array" } }, required: ["location", "days"] },
      refreshIntervalSeconds: 1800,
      surfaceGuidance: { surfaces: ["widget"], summary: "The weather, day by day", priority: "normal" },
    },
  ],
};

function TemplateSection({ appId, runtime, onSaved }: { appId: string; runtime: RuntimeApp; onSaved: () => void }) {
  const initial = runtime.capabilityTemplate ? { capabilities: runtime.capabilityTemplate.capabilities } : EXAMPLE_TEMPLATE;
  const [text, setText] = useState(JSON.stringify(initial, null, 2));
  const [parseError, setParseError] = useState<string | null>(null);
  const save = useMutation({ mutationFn: (body: CapabilityTemplateInput) => putCapabilityTemplate(appId, runtime.id, body), onSuccess: onSaved });
  return (
    <section aria-labelledby="rt-template">
      <h2 id="rt-template">Capability template</h2>
      <p>
        {runtime.capabilityTemplate
          ? `${runtime.capabilityTemplate.capabilities.length} capabilities, updated ${formatDate(runtime.capabilityTemplate.updatedAt)}.`
          : "Not set yet: the example below is a starting point."}{" "}
        Schemas, refresh intervals (60 s to 24 h), actions and surface guidance.
      </p>
      <ErrorNotice error={save.error} title="Could not save the capability template" />
      {save.isSuccess && (
        <Success>
          <p>Capability template saved.</p>
        </Success>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          try {
            setParseError(null);
            save.mutate(JSON.parse(text) as CapabilityTemplateInput);
          } catch (error) {
            setParseError(`The template is not valid JSON: ${(error as Error).message}`);
          }
        }}
      >
        <Field label="Template (JSON)" error={parseError ?? undefined}>
          {(p) => <textarea {...p} className="code" rows={14} spellCheck={false} value={text} onChange={(e) => setText(e.target.value)} />}
        </Field>
        <button type="submit" disabled={save.isPending}>
          {save.isPending ? "Saving…" : "Save capability template"}
        </button>
      </form>
    </section>
  );
}

function WebhookSection({ appId, runtime, onSaved }: { appId: string; runtime: RuntimeApp; onSaved: () => void }) {
  const queryClient = useQueryClient();
  const profile = runtime.webhookProfile;
  const [url, setUrl] = useState(profile?.url ?? "");
  const [events, setEvents] = useState<string[]>(profile?.events ?? ["*"]);
  const [maxAttempts, setMaxAttempts] = useState(String(profile?.retryPolicy.maxAttempts ?? 8));
  const [newSecret, setNewSecret] = useState<string | null>(null);
  const [offset, setOffset] = useState(0);
  const deliveries = useQuery({
    queryKey: ["deliveries", appId, runtime.id, offset],
    queryFn: () => listDeliveries(appId, runtime.id, offset),
    enabled: !!profile,
    // A test delivery is sent in the background: follow it until it settles.
    refetchInterval: (q) => (q.state.data?.items.some((d) => d.status === "pending" || d.status === "retrying") ? 2000 : false),
  });
  useEffect(() => setOffset(0), [runtime.id]);
  const save = useMutation({
    mutationFn: () =>
      putWebhookProfile(appId, runtime.id, {
        url,
        events: events as WebhookEvents,
        retryPolicy: {
          maxAttempts: Number(maxAttempts),
          initialDelaySeconds: profile?.retryPolicy.initialDelaySeconds ?? 30,
          maxDelaySeconds: profile?.retryPolicy.maxDelaySeconds ?? 36_000,
        },
      }),
    onSuccess: (result) => {
      if (result.signingSecret) setNewSecret(result.signingSecret);
      onSaved();
    },
  });
  const test = useMutation({
    mutationFn: () => sendTestWebhook(appId, runtime.id),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["deliveries", appId, runtime.id] }),
  });
  const rotate = useMutation({
    mutationFn: () => rotateSigningSecret(appId, runtime.id),
    onSuccess: (result) => {
      setNewSecret(result.secret);
      onSaved();
    },
  });
  const toggle = (event: string) => setEvents(events.includes(event) ? events.filter((e) => e !== event) : [...events, event]);
  return (
    <section aria-labelledby="rt-webhooks">
      <h2 id="rt-webhooks">Webhooks</h2>
      {profile ? (
        <p>
          Delivering to <code>{profile.url}</code> · <StatusBadge value={profile.status} />
          {profile.disabledReason && ` (${profile.disabledReason})`} · signing secret {runtime.credentialSecret.configured ? "set" : "not set"}
          {runtime.credentialSecret.createdAt && ` on ${formatDate(runtime.credentialSecret.createdAt)}`}
        </p>
      ) : (
        <p>No webhook profile: events are not delivered.</p>
      )}
      {newSecret && <SecretOnce label="Webhook signing secret" value={newSecret} />}
      <ErrorNotice error={save.error} title="Could not save the webhook profile" />
      <form
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <Field label="Webhook URL">{(p) => <input {...p} type="url" required value={url} onChange={(e) => setUrl(e.target.value)} />}</Field>
        <fieldset>
          <legend>Events</legend>
          <div className="checks">
            {ENUMS.webhookEvents.map((event) => (
              <label key={event} className="check">
                <input type="checkbox" checked={events.includes(event)} onChange={() => toggle(event)} /> <code>{event === "*" ? "* (all)" : event}</code>
              </label>
            ))}
          </div>
        </fieldset>
        <Field label="Attempts per delivery" hint="1 to 12, with exponential backoff between them.">
          {(p) => <input {...p} type="number" min={1} max={12} value={maxAttempts} onChange={(e) => setMaxAttempts(e.target.value)} />}
        </Field>
        <button type="submit" disabled={save.isPending}>
          {save.isPending ? "Saving…" : "Save webhook profile"}
        </button>
      </form>
      {profile && (
        <>
          <p className="actions">
            <button type="button" className="secondary" onClick={() => test.mutate()} disabled={test.isPending}>
              {test.isPending ? "Sending…" : "Send a test delivery"}
            </button>
            <button type="button" className="secondary" onClick={() => rotate.mutate()} disabled={rotate.isPending}>
              Rotate the signing secret
            </button>
          </p>
          <ErrorNotice error={test.error} title="Could not send the test delivery" />
          <ErrorNotice error={rotate.error} title="Could not rotate the signing secret" />
          {test.data && (
            <p role="status">
              Test delivery <code>{test.data.deliveryId}</code> queued.
            </p>
          )}
          <h3>Deliveries</h3>
          {deliveries.isPending && <Loading />}
          <ErrorNotice error={deliveries.error} title="Could not load the deliveries" />
          {deliveries.data && deliveries.data.items.length === 0 && <p>No deliveries yet.</p>}
          {deliveries.data && deliveries.data.items.length > 0 && (
            <div className="table-wrap" tabIndex={0} role="region" aria-label="Webhook deliveries, newest first">
              <table>
                <caption className="visually-hidden">Webhook deliveries, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Event</th>
                    <th scope="col">Status</th>
                    <th scope="col">Attempts</th>
                    <th scope="col">Last attempt</th>
                    <th scope="col">Created</th>
                  </tr>
                </thead>
                <tbody>
                  {deliveries.data.items.map((d) => {
                    const last = d.attempts[d.attempts.length - 1];
                    return (
                      <tr key={d.id}>
                        <td>
                          <code>{d.type}</code>
                        </td>
                        <td>
                          <StatusBadge value={d.status} />
                        </td>
                        <td>
                          {d.attemptCount} / {d.maxAttempts}
                        </td>
                        <td>{last ? `${last.outcome}${last.statusCode ? ` (HTTP ${last.statusCode})` : ""}, ${last.durationMs} ms${last.error ? ` — ${last.error}` : ""}` : "—"}</td>
                        <td>{formatDate(d.createdAt)}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
          <Pager pagination={deliveries.data?.pagination} onOffset={setOffset} label="Deliveries" />
        </>
      )}
    </section>
  );
}

type WebhookEvents = Parameters<typeof putWebhookProfile>[2]["events"];

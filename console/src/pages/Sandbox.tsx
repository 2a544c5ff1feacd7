import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { createScenario, listPackages, listScenarios, listTraces, runScenario, type ScenarioInput, type Schema } from "../api";
import { useAppPicker } from "../components/AppPicker";
import { ErrorNotice, Field, formatDate, JsonBlock, Loading, Pager, StatusBadge } from "../components/ui";

const DEFAULT_ASSERTIONS = [{ type: "status", equals: 200 }, { type: "outputSchema" }, { type: "latency", lessThanMs: 2000 }];

export function SandboxPage() {
  const { appId, picker } = useAppPicker();
  return (
    <>
      <h1>Sandbox</h1>
      <p className="lead">Scenarios call your runtime with a mock user and check the answer, isolated from production data.</p>
      {picker}
      {appId && <SandboxForApp appId={appId} />}
    </>
  );
}

function SandboxForApp({ appId }: { appId: string }) {
  const queryClient = useQueryClient();
  const [offset, setOffset] = useState(0);
  const scenarios = useQuery({ queryKey: ["scenarios", appId, offset], queryFn: () => listScenarios(appId, offset) });
  const [traceOffset, setTraceOffset] = useState(0);
  const traces = useQuery({ queryKey: ["traces", appId, traceOffset], queryFn: () => listTraces(appId, traceOffset) });
  const [selected, setSelected] = useState<Schema<"SandboxTrace"> | null>(null);
  const run = useMutation({
    mutationFn: (scenarioId: string) => runScenario(appId, scenarioId),
    onSuccess: (trace) => {
      setSelected(trace);
      void queryClient.invalidateQueries({ queryKey: ["traces", appId] });
    },
  });
  return (
    <>
      <section aria-labelledby="sb-scenarios">
        <h2 id="sb-scenarios">Scenarios</h2>
        {scenarios.isPending && <Loading />}
        <ErrorNotice error={scenarios.error} title="Could not list the scenarios" />
        {scenarios.data && scenarios.data.items.length === 0 && <p>No scenarios yet: create one below.</p>}
        {scenarios.data && scenarios.data.items.length > 0 && (
          <div className="table-wrap" tabIndex={0} role="region" aria-label="Sandbox scenarios">
            <table>
              <caption className="visually-hidden">Sandbox scenarios</caption>
              <thead>
                <tr>
                  <th scope="col">Scenario</th>
                  <th scope="col">Capability</th>
                  <th scope="col">Assertions</th>
                  <th scope="col">
                    <span className="visually-hidden">Run</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {scenarios.data.items.map((s) => (
                  <tr key={s.id}>
                    <td>{s.name}</td>
                    <td>
                      <code>{s.capability}</code>
                      {s.action && ` → ${s.action}`}
                    </td>
                    <td>{s.assertions.length}</td>
                    <td>
                      <button type="button" className="small" onClick={() => run.mutate(s.id)} disabled={run.isPending} aria-label={`Run ${s.name}`}>
                        {run.isPending && run.variables === s.id ? "Running…" : "Run"}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <Pager pagination={scenarios.data?.pagination} onOffset={setOffset} label="Scenarios" />
        {run.isPending && <Loading label="Running the scenario against your runtime" />}
        <ErrorNotice error={run.error} title="Could not run the scenario" />
      </section>
      {selected && <TraceViewer trace={selected} onClose={() => setSelected(null)} />}
      <NewScenario appId={appId} />
      <section aria-labelledby="sb-traces">
        <h2 id="sb-traces">Recent runs</h2>
        {traces.isPending && <Loading />}
        <ErrorNotice error={traces.error} title="Could not list the traces" />
        {traces.data && traces.data.items.length === 0 && <p>No runs yet.</p>}
        {traces.data && traces.data.items.length > 0 && (
          <ul className="trace-list">
            {traces.data.items.map((t) => (
              <li key={t.id}>
                <button type="button" className="link" onClick={() => setSelected(t)}>
                  {t.scenarioName}
                </button>{" "}
                <StatusBadge value={t.passed ? "passed" : "failed"} /> {Math.round(t.latencyMs)} ms · {formatDate(t.createdAt)}
              </li>
            ))}
          </ul>
        )}
        <Pager pagination={traces.data?.pagination} onOffset={setTraceOffset} label="Runs" />
      </section>
    </>
  );
}

function TraceViewer({ trace, onClose }: { trace: Schema<"SandboxTrace">; onClose: () => void }) {
  return (
    <section aria-labelledby="sb-trace" className="trace">
      <h2 id="sb-trace">
        Trace: {trace.scenarioName} <StatusBadge value={trace.passed ? "passed" : "failed"} />
      </h2>
      <dl className="facts">
        <dt>Capability</dt>
        <dd>
          <code>{trace.capability}</code> ({trace.kind}
          {trace.action && ` ${trace.action}`})
        </dd>
        <dt>Latency</dt>
        <dd>{Math.round(trace.latencyMs)} ms</dd>
        <dt>Trace id</dt>
        <dd>
          <code>{trace.id}</code>
        </dd>
        {trace.error && (
          <>
            <dt>Error</dt>
            <dd>
              <code>{trace.error.class}</code> {trace.error.message}
            </dd>
          </>
        )}
      </dl>
      <h3>Assertions</h3>
      <div className="table-wrap" tabIndex={0} role="region" aria-label="Assertion results">
        <table>
          <caption className="visually-hidden">Assertion results</caption>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Type</th>
              <th scope="col">Result</th>
              <th scope="col">Expected</th>
              <th scope="col">Actual</th>
              <th scope="col">Message</th>
            </tr>
          </thead>
          <tbody>
            {trace.assertions.map((a) => (
              <tr key={a.index}>
                <td>{a.index + 1}</td>
                <td>{a.type}</td>
                <td>
                  <StatusBadge value={a.passed ? "passed" : "failed"} />
                </td>
                <td>
                  <code>{a.expected}</code>
                </td>
                <td>
                  <code>{JSON.stringify(a.actual)}</code>
                </td>
                <td>{a.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="grid-2">
        <div>
          <h3>Request</h3>
          {trace.trace.request ? (
            <>
              <p>
                <code>
                  {trace.trace.request.method} {trace.trace.request.url}
                </code>
              </p>
              <JsonBlock label="Request headers and body" value={{ headers: trace.trace.request.headers, body: trace.trace.request.body }} />
            </>
          ) : (
            <p>No request was sent.</p>
          )}
        </div>
        <div>
          <h3>Response</h3>
          {trace.trace.response ? (
            <>
              <p>
                HTTP {trace.trace.response.status} · {trace.trace.response.bodyBytes} bytes{trace.trace.response.truncated && " (truncated)"}
              </p>
              <JsonBlock label="Response headers and body" value={{ headers: trace.trace.response.headers, body: trace.trace.response.body }} />
            </>
          ) : (
            <p>No response.</p>
          )}
        </div>
      </div>
      <button type="button" className="secondary small" onClick={onClose}>
        Close the trace
      </button>
    </section>
  );
}

function NewScenario({ appId }: { appId: string }) {
  const queryClient = useQueryClient();
  const packages = useQuery({ queryKey: ["packages", "all", 0], queryFn: () => listPackages(undefined, 0, 100) });
  const [form, setForm] = useState({
    capability: "",
    name: "",
    userId: "usr_sandbox",
    parameters: '{\n  "location": "Berlin",\n  "days": 3\n}',
    assertions: JSON.stringify(DEFAULT_ASSERTIONS, null, 2),
  });
  const [parseError, setParseError] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: (body: ScenarioInput) => createScenario(appId, body),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["scenarios", appId] }),
  });
  const set = (key: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [key]: e.target.value });
  const slugs = packages.data?.items.filter((p) => p.appId === appId).map((p) => p.slug) ?? [];
  return (
    <section aria-labelledby="sb-new">
      <h2 id="sb-new">New scenario</h2>
      <ErrorNotice error={create.error} title="Could not create the scenario" />
      {create.isSuccess && <p role="status">Scenario “{create.data.name}” created.</p>}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          try {
            setParseError(null);
            create.mutate({
              capability: form.capability,
              name: form.name,
              kind: "invoke",
              user: { id: form.userId },
              parameters: JSON.parse(form.parameters) as Record<string, unknown>,
              assertions: JSON.parse(form.assertions) as ScenarioInput["assertions"],
            });
          } catch (error) {
            setParseError(`Parameters and assertions must be JSON: ${(error as Error).message}`);
          }
        }}
      >
        <div className="grid-2">
          <Field label="Capability" hint="<package slug>.<capability id>, e.g. acme-weather.weather_forecast">
            {(p) => (
              <>
                <input {...p} required list={`${p.id}-slugs`} value={form.capability} onChange={set("capability")} />
                <datalist id={`${p.id}-slugs`}>
                  {slugs.map((s) => (
                    <option key={s} value={`${s}.`} />
                  ))}
                </datalist>
              </>
            )}
          </Field>
          <Field label="Scenario name">{(p) => <input {...p} required value={form.name} onChange={set("name")} />}</Field>
          <Field label="Mock user id">{(p) => <input {...p} required value={form.userId} onChange={set("userId")} />}</Field>
        </div>
        <div className="grid-2">
          <Field label="Parameters (JSON)">{(p) => <textarea {...p} className="code" rows={6} spellCheck={false} value={form.parameters} onChange={set("parameters")} />}</Field>
          <Field label="Assertions (JSON)" hint="status, latency, jsonPath and outputSchema assertions." error={parseError ?? undefined}>
            {(p) => <textarea {...p} className="code" rows={6} spellCheck={false} value={form.assertions} onChange={set("assertions")} />}
          </Field>
        </div>
        <button type="submit" disabled={create.isPending}>
          {create.isPending ? "Creating…" : "Create scenario"}
        </button>
      </form>
    </section>
  );
}

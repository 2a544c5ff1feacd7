import { useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { type AlertFilters, listAlerts, listBaselines, listCertifications, type Schema } from "../api";
import { useAppPicker } from "../components/AppPicker";
import { LineChart } from "../components/LineChart";
import { ErrorNotice, Field, formatDate, Loading, Pager, StatusBadge } from "../components/ui";

export function QualityPage() {
  const { appId, picker } = useAppPicker();
  return (
    <>
      <h1>Quality</h1>
      <p className="lead">Latency, errors and availability of your published capabilities over the last 30 days, alerts, and certification.</p>
      {picker}
      {appId && (
        <>
          <Certifications appId={appId} />
          <Baselines appId={appId} />
          <Alerts appId={appId} />
        </>
      )}
    </>
  );
}

function Baselines({ appId }: { appId: string }) {
  const [offset, setOffset] = useState(0);
  const baselines = useQuery({ queryKey: ["baselines", appId, offset], queryFn: () => listBaselines(appId, offset) });
  return (
    <section aria-labelledby="q-baselines">
      <h2 id="q-baselines">Performance, last 30 days</h2>
      {baselines.isPending && <Loading label="Loading the baselines" />}
      <ErrorNotice error={baselines.error} title="Could not load the baselines" />
      {baselines.data && baselines.data.items.length === 0 && <p>No published capability yet: baselines start once a package is listed.</p>}
      {baselines.data?.items.map((b) => <CapabilityCharts key={b.capability} baseline={b} />)}
      <Pager pagination={baselines.data?.pagination} onOffset={setOffset} label="Capabilities" />
    </section>
  );
}

function CapabilityCharts({ baseline }: { baseline: Schema<"CapabilityBaseline"> }) {
  const daily = baseline.daily ?? [];
  const days = useMemo(() => daily.map((d) => d.date), [daily]);
  const latency = useMemo(
    () => [
      { label: "p50", values: daily.map((d) => d.latencyMs?.p50 ?? null), color: "#1f6feb" },
      { label: "p95", values: daily.map((d) => d.latencyMs?.p95 ?? null), color: "#b35900" },
      { label: "p99", values: daily.map((d) => d.latencyMs?.p99 ?? null), color: "#b42318" },
    ],
    [daily],
  );
  const errors = useMemo(() => [{ label: "Error rate", values: daily.map((d) => d.errorRatePercent), color: "#b42318" }], [daily]);
  const availability = useMemo(() => [{ label: "Availability", values: daily.map((d) => d.availabilityPercent), color: "#067647" }], [daily]);
  return (
    <article className="capability-quality" aria-labelledby={`cap-${baseline.capability}`}>
      <h3 id={`cap-${baseline.capability}`}>
        <code>{baseline.capability}</code>
      </h3>
      <dl className="facts stats">
        <dt>Invocations</dt>
        <dd>{baseline.invocations.toLocaleString()}</dd>
        <dt>p50 / p95 / p99</dt>
        <dd>{baseline.latencyMs ? `${baseline.latencyMs.p50} / ${baseline.latencyMs.p95} / ${baseline.latencyMs.p99} ms` : "—"}</dd>
        <dt>Error rate</dt>
        <dd>{baseline.errorRatePercent === null ? "—" : `${baseline.errorRatePercent}%`}</dd>
        <dt>Availability</dt>
        <dd>{baseline.availabilityPercent === null ? "—" : `${baseline.availabilityPercent}%`}</dd>
        <dt>Deadline</dt>
        <dd>{baseline.deadlineMs} ms</dd>
      </dl>
      {baseline.invocations === 0 && <p>No invocations in these 30 days yet.</p>}
      <div className="charts">
        <LineChart title={`Latency of ${baseline.capability}`} unit="ms" days={days} series={latency} />
        <LineChart title={`Error rate of ${baseline.capability}`} unit="%" days={days} series={errors} max={100} />
        <LineChart title={`Availability of ${baseline.capability}`} unit="%" days={days} series={availability} max={100} />
      </div>
    </article>
  );
}

function Alerts({ appId }: { appId: string }) {
  const [filters, setFilters] = useState<AlertFilters>({});
  const [offset, setOffset] = useState(0);
  const alerts = useQuery({ queryKey: ["alerts", appId, filters, offset], queryFn: () => listAlerts(appId, filters, offset) });
  const setFilter = (key: keyof AlertFilters) => (e: { target: { value: string } }) => {
    setOffset(0);
    setFilters({ ...filters, [key]: e.target.value || undefined });
  };
  return (
    <section aria-labelledby="q-alerts">
      <h2 id="q-alerts">Alerts</h2>
      <div className="filters">
        <Field label="Status">
          {(p) => (
            <select {...p} value={filters.status ?? ""} onChange={setFilter("status")}>
              <option value="">Active and resolved</option>
              <option value="active">Active</option>
              <option value="resolved">Resolved</option>
            </select>
          )}
        </Field>
        <Field label="Severity">
          {(p) => (
            <select {...p} value={filters.severity ?? ""} onChange={setFilter("severity")}>
              <option value="">Any</option>
              <option value="info">Info</option>
              <option value="warning">Warning</option>
              <option value="critical">Critical</option>
            </select>
          )}
        </Field>
      </div>
      {alerts.isPending && <Loading />}
      <ErrorNotice error={alerts.error} title="Could not load the alerts" />
      {alerts.data && alerts.data.items.length === 0 && <p>No alerts match.</p>}
      {alerts.data && alerts.data.items.length > 0 && (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Quality alerts">
          <table>
            <caption className="visually-hidden">Quality alerts</caption>
            <thead>
              <tr>
                <th scope="col">Capability</th>
                <th scope="col">Metric</th>
                <th scope="col">Severity</th>
                <th scope="col">Status</th>
                <th scope="col">Condition</th>
                <th scope="col">Opened</th>
                <th scope="col">Resolved</th>
              </tr>
            </thead>
            <tbody>
              {alerts.data.items.map((a) => (
                <tr key={a.id}>
                  <td>
                    <code>{a.capability}</code>
                  </td>
                  <td>{a.metric.replace(/_/g, " ")}</td>
                  <td>
                    <StatusBadge value={a.severity} />
                  </td>
                  <td>
                    <StatusBadge value={a.status} />
                  </td>
                  <td>
                    {a.condition} (value {a.value}
                    {a.unit === "percent" ? "%" : " ms"}, threshold {a.threshold}
                    {a.unit === "percent" ? "%" : " ms"})
                  </td>
                  <td>{formatDate(a.openedAt)}</td>
                  <td>{a.resolvedAt ? `${formatDate(a.resolvedAt)} (${a.resolution})` : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager pagination={alerts.data?.pagination} onOffset={setOffset} label="Alerts" />
    </section>
  );
}

function Certifications({ appId }: { appId: string }) {
  const [offset, setOffset] = useState(0);
  const certs = useQuery({ queryKey: ["certification", appId, offset], queryFn: () => listCertifications(appId, offset) });
  return (
    <section aria-labelledby="q-cert">
      <h2 id="q-cert">Certification</h2>
      {certs.isPending && <Loading />}
      <ErrorNotice error={certs.error} title="Could not load the certification" />
      {certs.data && certs.data.items.length === 0 && <p>No published package yet.</p>}
      <div className="cards">
        {certs.data?.items.map((c) => (
          <article key={c.packageId} className="card" aria-labelledby={`cert-${c.packageId}`}>
            <h3 id={`cert-${c.packageId}`}>
              {c.name} <span className="muted">v{c.version}</span>
            </h3>
            <p>
              <StatusBadge value={c.tier} /> {c.tierSince && `since ${formatDate(c.tierSince)}`} · score {c.score.overall}/100
            </p>
            {c.reasons.length > 0 && (
              <>
                <h4>Why</h4>
                <ul>
                  {c.reasons.map((r) => (
                    <li key={r.code}>{r.message}</li>
                  ))}
                </ul>
              </>
            )}
            {c.causes.length > 0 && (
              <ul>
                {c.causes.map((cause, i) => (
                  <li key={i}>
                    {cause.message} (since {formatDate(cause.since)})
                  </li>
                ))}
              </ul>
            )}
            {c.graceEndsAt && <p>Grace period ends {formatDate(c.graceEndsAt)}.</p>}
          </article>
        ))}
      </div>
      <Pager pagination={certs.data?.pagination} onOffset={setOffset} label="Certifications" />
    </section>
  );
}

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link, useParams } from "react-router";
import {
  deprecateVersion,
  getPackage,
  getValidationRun,
  getVersion,
  publishVersion,
  rollBackVersion,
  runtimeOfApp,
  type Schema,
  startValidation,
  submitVersion,
  updateVersion,
  type UpdateVersionInput,
} from "../api";
import { DeprecateDialog, ErrorNotice, Field, formatDate, Loading, StatusBadge, Success } from "../components/ui";

const DIMENSIONS = ["schema", "listing", "security", "reliability", "performance", "privacy"] as const;

/** Reads a finding's JSON path ($.version.capabilities[0].inputSchema...) in the validated subject. */
export function valueAt(subject: unknown, path: string): { found: boolean; value?: unknown } {
  const segments = [...path.replace(/^\$/, "").matchAll(/\.([^.[\]]+)|\[(\d+)\]|\['([^']+)'\]/g)].map((m) => m[1] ?? (m[2] !== undefined ? Number(m[2]) : m[3]!));
  let node: unknown = subject;
  for (const segment of segments) {
    if (node === null || typeof node !== "object" || !(segment in (node as Record<string | number, unknown>))) return { found: false };
    node = (node as Record<string | number, unknown>)[segment];
  }
  return { found: true, value: node };
}

const preview = (v: unknown) => {
  const text = typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v);
  if (text === undefined) return "—";
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
};

function Scores({ run }: { run: Schema<"ValidationRun"> }) {
  if (!run.score) return null;
  return (
    <div className="scores" role="region" aria-label="Conformance scores">
      <p className="score-overall">
        <span className="big-number">{run.score.overall}</span>/100 overall · {run.passed ? <StatusBadge value="passed" /> : <StatusBadge value="failed" />}
        <span className="hint"> (passing needs 80 and no error)</span>
      </p>
      <ul className="dimension-list">
        {DIMENSIONS.map((d) => (
          <li key={d}>
            <span className="dimension-name">{d}</span>
            <meter min={0} max={100} low={60} high={80} optimum={100} value={run.score!.dimensions[d]} aria-label={`${d} score`} />
            <span className="dimension-score">{run.score!.dimensions[d]}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

function Findings({ run, subject }: { run: Schema<"ValidationRun">; subject: unknown }) {
  if (run.findings.length === 0) return <p>No findings: nothing to fix.</p>;
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label="Findings">
      <table className="findings">
        <caption>Findings ({run.findings.length}), each next to the field it concerns</caption>
        <thead>
          <tr>
            <th scope="col">Severity</th>
            <th scope="col">Rule</th>
            <th scope="col">Field</th>
            <th scope="col">Current value</th>
            <th scope="col">Finding</th>
          </tr>
        </thead>
        <tbody>
          {run.findings.map((f, i) => {
            const at = valueAt(subject, f.path);
            return (
              <tr key={`${f.ruleId}-${f.path}-${i}`} className={`finding-${f.severity}`}>
                <td>
                  <StatusBadge value={f.severity} />
                </td>
                <td>
                  <code>{f.ruleId}</code>
                </td>
                <td>
                  <code>{f.path}</code>
                </td>
                <td>
                  <code className="value">{at.found ? preview(at.value) : "(missing)"}</code>
                </td>
                <td>{f.message}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

const RUN_STEPS = ["queued", "running", "finished"] as const;

function RunProgress({ run }: { run: Schema<"ValidationRun"> }) {
  const step = run.status === "queued" ? 0 : run.status === "running" ? 1 : 2;
  return (
    <div className="run-progress" role="status" aria-live="polite">
      <progress max={RUN_STEPS.length - 1} value={step} aria-label="Validation progress" />
      <ol className="progress-steps">
        {RUN_STEPS.map((s, i) => (
          <li key={s} className={i < step ? "done" : i === step ? "current" : ""} aria-current={i === step ? "step" : undefined}>
            {s === "queued" ? "Queued" : s === "running" ? "Probing your runtime and checking the rules" : "Scored"}
          </li>
        ))}
      </ol>
      {run.status !== "passed" && run.status !== "failed" && <p>Validation {run.status}… this takes a few seconds.</p>}
    </div>
  );
}

export function VersionPage() {
  const { packageId = "", versionId = "" } = useParams();
  const queryClient = useQueryClient();
  const version = useQuery({ queryKey: ["version", packageId, versionId], queryFn: () => getVersion(packageId, versionId) });
  const pkg = useQuery({ queryKey: ["package", packageId], queryFn: () => getPackage(packageId) });
  // Findings about $.runtime.* point at the runtime of the package's app.
  const appId = pkg.data?.appId;
  const runtime = useQuery({ queryKey: ["runtime", appId], queryFn: () => runtimeOfApp(appId!), enabled: !!appId && !pkg.data?.orphaned });
  const [runId, setRunId] = useState<string | null>(null);
  useEffect(() => {
    if (!runId && version.data?.validation) setRunId(version.data.validation.runId);
  }, [version.data, runId]);
  const run = useQuery({
    queryKey: ["run", packageId, versionId, runId],
    queryFn: () => getValidationRun(packageId, versionId, runId!),
    enabled: !!runId,
    refetchInterval: (q) => (q.state.data && (q.state.data.status === "queued" || q.state.data.status === "running") ? 1500 : false),
  });
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ["version", packageId, versionId] });
    void queryClient.invalidateQueries({ queryKey: ["package", packageId] });
    void queryClient.invalidateQueries({ queryKey: ["packages"] });
  };
  useEffect(() => {
    if (run.data && (run.data.status === "passed" || run.data.status === "failed")) refresh();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [run.data?.status]);
  const validate = useMutation({
    mutationFn: () => startValidation(packageId, versionId),
    onSuccess: (started) => {
      setRunId(started.id);
      queryClient.setQueryData(["run", packageId, versionId, started.id], started);
    },
  });
  const submit = useMutation({ mutationFn: () => submitVersion(packageId, versionId), onSuccess: refresh });
  const publish = useMutation({ mutationFn: () => publishVersion(packageId, versionId), onSuccess: refresh });
  const rollback = useMutation({ mutationFn: () => rollBackVersion(packageId, versionId, "Rolled back from the console"), onSuccess: refresh });
  const [deprecating, setDeprecating] = useState(false);
  const deprecate = useMutation({
    mutationFn: (reason: string) => deprecateVersion(packageId, versionId, reason),
    onSuccess: () => {
      setDeprecating(false);
      refresh();
    },
  });
  const v = version.data;
  // Poll while the platform is working on the version (submission checks, automatic listing).
  useEffect(() => {
    if (v?.state !== "submitted") return;
    const t = setInterval(refresh, 2000);
    return () => clearInterval(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [v?.state]);
  const subject =
    v && pkg.data ? { package: pkg.data, version: { riskTier: v.riskTier, changelog: v.changelog, capabilities: v.capabilities }, runtime: runtime.data ?? undefined } : null;
  const finished = run.data && (run.data.status === "passed" || run.data.status === "failed");

  return (
    <>
      <p className="breadcrumb">
        <Link to="/packages">Packages</Link> / <Link to={`/packages/${packageId}`}>{pkg.data?.name ?? packageId}</Link> /
      </p>
      <h1>Version {v?.version ?? ""}</h1>
      {version.isPending && <Loading />}
      <ErrorNotice error={version.error} title="Could not load the version" />
      {v && (
        <>
          <p className="lead">
            <StatusBadge value={v.state} /> · {v.riskTier.replace(/_/g, " ")} · {v.capabilities.length} capabilit{v.capabilities.length === 1 ? "y" : "ies"}
            {v.publishedAt && ` · published ${formatDate(v.publishedAt)}`}
          </p>
          {v.changelog && <p>Changelog: {v.changelog}</p>}

          <section aria-labelledby="v-validate">
            <h2 id="v-validate">Validation</h2>
            <p>The conformance suite probes your runtime and scores six dimensions; submitting needs a passing run of the current content.</p>
            <button type="button" onClick={() => validate.mutate()} disabled={validate.isPending || (!!run.data && !finished) || !["draft", "validated", "rejected"].includes(v.state)}>
              {validate.isPending ? "Starting…" : "Validate"}
            </button>
            <ErrorNotice error={validate.error} title="Could not start the validation" />
            <ErrorNotice error={run.error} title="Could not read the validation run" />
            {run.data && <RunProgress run={run.data} />}
            {run.data && finished && (
              <>
                {run.data.failure && (
                  <div className="notice error" role="alert">
                    <p className="error-message">{run.data.failure}</p>
                  </div>
                )}
                <Scores run={run.data} />
                <h3>Findings</h3>
                <Findings run={run.data} subject={subject} />
                {run.data.probes.length > 0 && (
                  <>
                    <h3>Probes</h3>
                    <ul>
                      {run.data.probes.map((p) => (
                        <li key={p.capabilityId}>
                          <code>{p.capabilityId}</code>: {p.succeeded}/{p.probes} succeeded{p.medianLatencyMs !== null && `, median ${p.medianLatencyMs} ms`}
                          {p.band && ` (${p.band})`}
                        </li>
                      ))}
                    </ul>
                  </>
                )}
              </>
            )}
          </section>

          <section aria-labelledby="v-submit">
            <h2 id="v-submit">Submission and review</h2>
            {v.state === "validated" && (
              <p>
                <button type="button" onClick={() => submit.mutate()} disabled={submit.isPending}>
                  {submit.isPending ? "Submitting…" : "Submit for review"}
                </button>{" "}
                <span className="hint">{v.riskTier === "data_only" ? "data_only versions are listed after the automated policy checks." : "A reviewer looks at it (typically 1–3 business days)."}</span>
              </p>
            )}
            <ErrorNotice error={submit.error} title="Could not submit" />
            {v.state === "submitted" && <Loading label="Running the automated policy checks" />}
            {v.review ? (
              <dl className="facts">
                <dt>Review</dt>
                <dd>
                  <StatusBadge value={v.review.status} /> {v.review.decidedBy && `by ${v.review.decidedBy}`} {v.review.decidedAt && formatDate(v.review.decidedAt)}
                </dd>
                {v.review.queuePosition !== null && (
                  <>
                    <dt>Queue position</dt>
                    <dd>{v.review.queuePosition}</dd>
                  </>
                )}
                {v.review.expectedReviewBy && (
                  <>
                    <dt>Expected by</dt>
                    <dd>{formatDate(v.review.expectedReviewBy)}</dd>
                  </>
                )}
                {v.review.notes && (
                  <>
                    <dt>Notes</dt>
                    <dd>{v.review.notes}</dd>
                  </>
                )}
                {v.review.reasons.length > 0 && (
                  <>
                    <dt>Reasons</dt>
                    <dd>
                      <ul>
                        {v.review.reasons.map((r, i) => (
                          <li key={i}>
                            {r.path && <code>{r.path}</code>} {r.ruleId && <code>{r.ruleId}</code>} {r.message}
                          </li>
                        ))}
                      </ul>
                    </dd>
                  </>
                )}
              </dl>
            ) : (
              <p>Not submitted yet.</p>
            )}
            {v.state === "approved" && (
              <button type="button" onClick={() => publish.mutate()} disabled={publish.isPending}>
                {publish.isPending ? "Publishing…" : "Publish to the catalog"}
              </button>
            )}
            <ErrorNotice error={publish.error} title="Could not publish" />
            {publish.isSuccess && (
              <Success>
                <p>Published: the version is live in the catalog.</p>
              </Success>
            )}
          </section>

          <section aria-labelledby="v-history">
            <h2 id="v-history">History</h2>
            <ol className="timeline">
              {v.history.map((h, i) => (
                <li key={i}>
                  <time dateTime={h.at}>{formatDate(h.at)}</time> {h.from ? <StatusBadge value={h.from} /> : "created"} → <StatusBadge value={h.to} /> by {h.actor.type}
                  {h.reason && <span className="muted"> — {h.reason}</span>}
                </li>
              ))}
            </ol>
          </section>

          {v.state === "draft" && <CapabilitiesEditor packageId={packageId} version={v} onSaved={refresh} />}
          {v.state !== "draft" && (
            <section aria-labelledby="v-caps">
              <h2 id="v-caps">Capabilities</h2>
              <ul>
                {v.capabilities.map((c) => (
                  <li key={c.id}>
                    <code>{c.id}</code> {c.name}: refreshed every {c.refreshIntervalSeconds} s, deadline {c.deadlineMs} ms
                  </li>
                ))}
              </ul>
            </section>
          )}

          {(v.state === "superseded" || v.state === "published") && (
            <section aria-labelledby="v-lifecycle" className="danger-zone">
              <h2 id="v-lifecycle">Lifecycle</h2>
              {v.state === "superseded" && (
                <button type="button" className="secondary" onClick={() => rollback.mutate()} disabled={rollback.isPending}>
                  {rollback.isPending ? "Rolling back…" : "Roll back to this version"}
                </button>
              )}{" "}
              <button type="button" className="danger" onClick={() => setDeprecating(true)}>
                Deprecate this version…
              </button>
              <ErrorNotice error={rollback.error} title="Could not roll back" />
            </section>
          )}
          <DeprecateDialog
            open={deprecating}
            title={`Deprecate version ${v.version}?`}
            errorTitle="Could not deprecate the version"
            reasonLabel="Reason"
            mutation={deprecate}
            onClose={() => setDeprecating(false)}
          />
        </>
      )}
    </>
  );
}

function CapabilitiesEditor({ packageId, version, onSaved }: { packageId: string; version: Schema<"PackageVersion">; onSaved: () => void }) {
  const [text, setText] = useState(JSON.stringify(version.capabilities, null, 2));
  const [changelog, setChangelog] = useState(version.changelog ?? "");
  const [parseError, setParseError] = useState<string | null>(null);
  const save = useMutation({ mutationFn: (body: UpdateVersionInput) => updateVersion(packageId, version.id, body), onSuccess: onSaved });
  return (
    <section aria-labelledby="v-edit">
      <h2 id="v-edit">Edit the draft</h2>
      <ErrorNotice error={save.error} title="Could not save the version" />
      {save.isSuccess && (
        <Success>
          <p>Saved. Validate again to check the change.</p>
        </Success>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          try {
            setParseError(null);
            save.mutate({ capabilities: JSON.parse(text) as UpdateVersionInput["capabilities"], changelog: changelog || null });
          } catch (error) {
            setParseError(`Capabilities are not valid JSON: ${(error as Error).message}`);
          }
        }}
      >
        <Field label="Changelog">{(p) => <input {...p} value={changelog} onChange={(e) => setChangelog(e.target.value)} />}</Field>
        <Field label="Capabilities (JSON)" error={parseError ?? undefined}>
          {(p) => <textarea {...p} className="code" rows={14} spellCheck={false} value={text} onChange={(e) => setText(e.target.value)} />}
        </Field>
        <button type="submit" disabled={save.isPending}>
          {save.isPending ? "Saving…" : "Save draft"}
        </button>
      </form>
    </section>
  );
}

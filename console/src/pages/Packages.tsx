import { ENUMS } from "@aiffinity/sdk";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import {
  createPackage,
  type CreatePackageInput,
  createVersion,
  deprecatePackage,
  getPackage,
  getVersion,
  listApps,
  listPackages,
  type PackageStatus,
  type Schema,
  updatePackage,
} from "../api";
import { DeprecateDialog, ErrorNotice, Field, formatDate, Loading, Pager, SaveOutcome, StatusBadge } from "../components/ui";

const STATUSES: (PackageStatus | "all")[] = ["all", "draft", "published", "deprecated"];

export function PackagesPage() {
  const [params, setParams] = useSearchParams();
  const status = (params.get("status") ?? "all") as PackageStatus | "all";
  const [offset, setOffset] = useState(0);
  useEffect(() => setOffset(0), [status]);
  const packages = useQuery({ queryKey: ["packages", status, offset], queryFn: () => listPackages(status === "all" ? undefined : status, offset) });
  return (
    <>
      <h1>Packages</h1>
      <p className="actions">
        <Link className="button" to="/packages/new">
          Create a package
        </Link>
      </p>
      <div className="tabs" role="group" aria-label="Filter by status">
        {STATUSES.map((s) => (
          <button key={s} type="button" className={s === status ? "tab active" : "tab"} aria-pressed={s === status} onClick={() => setParams(s === "all" ? {} : { status: s })}>
            {s === "all" ? "All" : s[0]!.toUpperCase() + s.slice(1)}
          </button>
        ))}
      </div>
      {packages.isPending && <Loading />}
      <ErrorNotice error={packages.error} title="Could not list your packages" />
      {packages.data && packages.data.items.length === 0 && <p>No {status === "all" ? "" : `${status} `}packages.</p>}
      {packages.data && packages.data.items.length > 0 && (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Your packages">
          <table>
            <caption className="visually-hidden">Your packages</caption>
            <thead>
              <tr>
                <th scope="col">Package</th>
                <th scope="col">Status</th>
                <th scope="col">Risk tier</th>
                <th scope="col">Current version</th>
                <th scope="col">Installs</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {packages.data.items.map((p) => (
                <tr key={p.id}>
                  <td>
                    <Link to={`/packages/${p.id}`}>{p.name}</Link> <code className="muted">{p.slug}</code>
                    {p.orphaned && <span className="badge badge-orphaned">orphaned</span>}
                  </td>
                  <td>
                    <StatusBadge value={p.status} />
                  </td>
                  <td>{p.riskTier.replace(/_/g, " ")}</td>
                  <td>{p.currentVersion?.version ?? `— (latest ${p.latestVersion})`}</td>
                  <td>{p.installCount}</td>
                  <td>{formatDate(p.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager pagination={packages.data?.pagination} onOffset={setOffset} label="Packages" />
    </>
  );
}

/** A capability descriptor to start from (the docs' weather example). */
const EXAMPLE_CAPABILITIES = [
  {
    id: "weather_forecast",
    name: "Weather forecast",
    description: "Daily highs, lows and conditions for a location.",
    inputSchema: {
      type: "object",
      properties: { location: { type: "string", minLength: 1 }, days: { type: "integer", minimum: 1, maximum: 7 } },
      required: ["location"],
      additionalProperties: false,
    },
    outputSchema: {
      type: "object",
      required: ["location", "days"],
      properties: {
        location: { type: "string" },
        days: {
          type: "array",
          items: {
            type: "object",
            required: ["date", "highC", "lowC", "condition"],
            properties: { date: { type: "string", format: "date" }, highC: { type: "number" }, lowC: { type: "number" }, condition: { type: "string" } },
          },
        },
      },
    },
    refreshIntervalSeconds: 1800,
    deadlineMs: 3000,
    sampleInput: { location: "Berlin", days: 3 },
    dataCategories: ["public"],
  },
];

export function NewPackagePage() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const apps = useQuery({ queryKey: ["apps", "all"], queryFn: () => listApps(0, 100) });
  const [form, setForm] = useState({
    appId: "",
    name: "",
    slug: "",
    description: "",
    riskTier: "data_only" as Schema<"RiskTier">,
    category: "" as Schema<"PackageCategory"> | "",
    version: "1.0.0",
    changelog: "First release",
    icon: "",
    supportUrl: "",
    privacyPolicyUrl: "",
    capabilities: JSON.stringify(EXAMPLE_CAPABILITIES, null, 2),
  });
  const [parseError, setParseError] = useState<string | null>(null);
  useEffect(() => {
    if (!form.appId && apps.data?.items[0]) setForm((f) => ({ ...f, appId: apps.data.items[0]!.id }));
  }, [apps.data, form.appId]);
  const create = useMutation({
    mutationFn: (body: CreatePackageInput) => createPackage(body),
    onSuccess: (pkg) => {
      void queryClient.invalidateQueries({ queryKey: ["packages"] });
      navigate(`/packages/${pkg.id}/versions/${pkg.versions[0]!.id}`);
    },
  });
  const set = (key: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [key]: e.target.value });
  const submit = () => {
    let capabilities: CreatePackageInput["capabilities"];
    try {
      capabilities = JSON.parse(form.capabilities) as CreatePackageInput["capabilities"];
      setParseError(null);
    } catch (error) {
      setParseError(`Capabilities are not valid JSON: ${(error as Error).message}`);
      return;
    }
    create.mutate({
      appId: form.appId,
      name: form.name,
      slug: form.slug,
      description: form.description,
      riskTier: form.riskTier,
      capabilities,
      version: form.version,
      ...(form.changelog ? { changelog: form.changelog } : {}),
      ...(form.category ? { category: form.category } : {}),
      ...(form.icon ? { images: { icon: form.icon } } : {}),
      ...(form.supportUrl ? { supportUrl: form.supportUrl } : {}),
      ...(form.privacyPolicyUrl ? { privacyPolicyUrl: form.privacyPolicyUrl } : {}),
    });
  };
  return (
    <>
      <p className="breadcrumb">
        <Link to="/packages">Packages</Link> /
      </p>
      <h1>Create a package</h1>
      <p className="lead">A versioned descriptor of the data and actions your runtime offers. It starts as a draft version 1.0.0.</p>
      <ErrorNotice error={apps.error} title="Could not list your apps" />
      <ErrorNotice error={create.error} title="Could not create the package" />
      <form
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <Field label="App" hint="Its runtime serves the package's capabilities.">
          {(p) => (
            <select {...p} required value={form.appId} onChange={set("appId")}>
              {apps.data?.items.map((a) => (
                <option key={a.id} value={a.id}>
                  {a.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <div className="grid-2">
          <Field label="Name">{(p) => <input {...p} required maxLength={80} value={form.name} onChange={set("name")} />}</Field>
          <Field label="Slug" hint="Lowercase letters and digits with single hyphens; unique and permanent.">
            {(p) => <input {...p} required pattern="[a-z0-9]+(-[a-z0-9]+)*" minLength={3} maxLength={64} value={form.slug} onChange={set("slug")} />}
          </Field>
        </div>
        <Field label="Description">{(p) => <textarea {...p} required rows={3} maxLength={4000} value={form.description} onChange={set("description")} />}</Field>
        <div className="grid-2">
          <Field label="Risk tier" hint="data_only is listed after automated checks; the others are reviewed by a person.">
            {(p) => (
              <select {...p} value={form.riskTier} onChange={set("riskTier")}>
                {ENUMS.riskTiers.map((t) => (
                  <option key={t} value={t}>
                    {t.replace(/_/g, " ")}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Category">
            {(p) => (
              <select {...p} value={form.category} onChange={set("category")}>
                <option value="">None</option>
                {ENUMS.categories.map((c) => (
                  <option key={c} value={c}>
                    {c.replace(/_/g, " ")}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Version">{(p) => <input {...p} required value={form.version} onChange={set("version")} />}</Field>
          <Field label="Changelog">{(p) => <input {...p} value={form.changelog} onChange={set("changelog")} />}</Field>
          <Field label="Icon URL (optional)">{(p) => <input {...p} type="url" value={form.icon} onChange={set("icon")} />}</Field>
          <Field label="Support URL (optional)">{(p) => <input {...p} type="url" value={form.supportUrl} onChange={set("supportUrl")} />}</Field>
          <Field label="Privacy policy URL (optional)">{(p) => <input {...p} type="url" value={form.privacyPolicyUrl} onChange={set("privacyPolicyUrl")} />}</Field>
        </div>
        <Field label="Capabilities (JSON)" hint="An array of capability descriptors (docs: packages)." error={parseError ?? undefined}>
          {(p) => <textarea {...p} className="code" rows={16} spellCheck={false} value={form.capabilities} onChange={set("capabilities")} />}
        </Field>
        <button type="submit" disabled={create.isPending || !form.appId}>
          {create.isPending ? "Creating…" : "Create package"}
        </button>
      </form>
    </>
  );
}

export function PackageDetailPage() {
  const { packageId = "" } = useParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const pkg = useQuery({ queryKey: ["package", packageId], queryFn: () => getPackage(packageId) });
  const [meta, setMeta] = useState<{ name: string; description: string; supportUrl: string; privacyPolicyUrl: string } | null>(null);
  useEffect(() => {
    if (pkg.data && !meta) setMeta({ name: pkg.data.name, description: pkg.data.description, supportUrl: pkg.data.supportUrl ?? "", privacyPolicyUrl: pkg.data.privacyPolicyUrl ?? "" });
  }, [pkg.data, meta]);
  const save = useMutation({
    mutationFn: () =>
      updatePackage(packageId, { name: meta!.name, description: meta!.description, supportUrl: meta!.supportUrl || null, privacyPolicyUrl: meta!.privacyPolicyUrl || null }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["package", packageId] }),
  });
  const [changelog, setChangelog] = useState("");
  const [version, setVersion] = useState("");
  const newVersion = useMutation({
    mutationFn: async () => {
      // Versions are listed newest first.
      const latest = pkg.data!.versions[0]!;
      const full = await getVersion(packageId, latest.id);
      return createVersion(packageId, { capabilities: full.capabilities as never, ...(changelog ? { changelog } : {}), ...(version ? { version } : {}) });
    },
    onSuccess: (v) => {
      void queryClient.invalidateQueries({ queryKey: ["package", packageId] });
      navigate(`/packages/${packageId}/versions/${v.id}`);
    },
  });
  const [deprecating, setDeprecating] = useState(false);
  const deprecate = useMutation({
    mutationFn: (reason: string) => deprecatePackage(packageId, reason),
    onSuccess: () => {
      setDeprecating(false);
      void queryClient.invalidateQueries({ queryKey: ["package", packageId] });
      void queryClient.invalidateQueries({ queryKey: ["packages"] });
    },
  });
  const data = pkg.data;
  return (
    <>
      <p className="breadcrumb">
        <Link to="/packages">Packages</Link> /
      </p>
      <h1>{data?.name ?? "Package"}</h1>
      {pkg.isPending && <Loading />}
      <ErrorNotice error={pkg.error} title="Could not load the package" />
      {data && (
        <>
          <p className="lead">
            <code>{data.slug}</code> · <StatusBadge value={data.status} /> · {data.riskTier.replace(/_/g, " ")} · current version {data.currentVersion?.version ?? "none"} · {data.installCount} installs
          </p>
          {data.orphaned && (
            <div className="notice warning" role="note">
              <p>
                Orphaned: its app was deleted. It leaves the catalog on {formatDate(data.catalogRemovalDueAt)} unless it is moved to another app.
              </p>
            </div>
          )}
          {data.deprecation && (
            <div className="notice warning" role="note">
              <p>
                Deprecated on {formatDate(data.deprecation.deprecatedAt)}: {data.deprecation.reason}
              </p>
            </div>
          )}
          <section aria-labelledby="pkg-versions">
            <h2 id="pkg-versions">Versions</h2>
            <div className="table-wrap" tabIndex={0} role="region" aria-label="Versions, newest first">
              <table>
                <caption className="visually-hidden">Versions, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Version</th>
                    <th scope="col">State</th>
                    <th scope="col">Validation</th>
                    <th scope="col">Review</th>
                    <th scope="col">Changelog</th>
                    <th scope="col">Created</th>
                  </tr>
                </thead>
                <tbody>
                  {data.versions.map((v) => (
                    <tr key={v.id}>
                      <td>
                        <Link to={`/packages/${packageId}/versions/${v.id}`}>{v.version}</Link>
                      </td>
                      <td>
                        <StatusBadge value={v.state} />
                      </td>
                      <td>{v.validation ? `${v.validation.status}${v.validation.score !== null ? ` · ${v.validation.score}/100` : ""}` : "not run"}</td>
                      <td>{v.review ? v.review.status : "—"}</td>
                      <td>{v.changelog ?? "—"}</td>
                      <td>{formatDate(v.createdAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <h3>New version</h3>
            <p>Starts from the latest version's capabilities; edit them on the version's page while it is a draft.</p>
            <ErrorNotice error={newVersion.error} title="Could not create the version" />
            <form
              className="inline-form"
              onSubmit={(e) => {
                e.preventDefault();
                newVersion.mutate();
              }}
            >
              <Field label="Version (optional)" hint="Default: the next minor version.">
                {(p) => <input {...p} value={version} onChange={(e) => setVersion(e.target.value)} placeholder="1.1.0" />}
              </Field>
              <Field label="Changelog">{(p) => <input {...p} value={changelog} onChange={(e) => setChangelog(e.target.value)} />}</Field>
              <button type="submit" disabled={newVersion.isPending}>
                {newVersion.isPending ? "Creating…" : "Create version"}
              </button>
            </form>
          </section>
          {meta && (
            <section aria-labelledby="pkg-meta">
              <h2 id="pkg-meta">Listing</h2>
              <p>Changes apply to the next version you validate; published versions keep the listing they were published with.</p>
              <SaveOutcome mutation={save} errorTitle="Could not save the listing" />
              <form
                onSubmit={(e) => {
                  e.preventDefault();
                  save.mutate();
                }}
              >
                <Field label="Name">{(p) => <input {...p} required value={meta.name} onChange={(e) => setMeta({ ...meta, name: e.target.value })} />}</Field>
                <Field label="Description">{(p) => <textarea {...p} rows={3} required value={meta.description} onChange={(e) => setMeta({ ...meta, description: e.target.value })} />}</Field>
                <Field label="Support URL">{(p) => <input {...p} type="url" value={meta.supportUrl} onChange={(e) => setMeta({ ...meta, supportUrl: e.target.value })} />}</Field>
                <Field label="Privacy policy URL">
                  {(p) => <input {...p} type="url" value={meta.privacyPolicyUrl} onChange={(e) => setMeta({ ...meta, privacyPolicyUrl: e.target.value })} />}
                </Field>
                <button type="submit" disabled={save.isPending}>
                  {save.isPending ? "Saving…" : "Save listing"}
                </button>
              </form>
            </section>
          )}
          {data.status !== "deprecated" && (
            <section aria-labelledby="pkg-deprecate" className="danger-zone">
              <h2 id="pkg-deprecate">Deprecate the package</h2>
              <p>It stays installed where it is, but the catalog stops offering it to new users.</p>
              <button type="button" className="danger" onClick={() => setDeprecating(true)}>
                Deprecate…
              </button>
            </section>
          )}
          <DeprecateDialog
            open={deprecating}
            title={`Deprecate ${data.name}?`}
            errorTitle="Could not deprecate"
            reasonLabel="Reason (shown to users)"
            mutation={deprecate}
            onClose={() => setDeprecating(false)}
          />
        </>
      )}
    </>
  );
}

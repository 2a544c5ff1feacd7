import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { deleteApp, forgetAppToken, getApp, listPackages, rotateAppSecret, type Schema, updateApp } from "../api";
import { Dialog, ErrorNotice, Field, formatDate, Loading, SaveOutcome, SecretOnce, StatusBadge } from "../components/ui";

export function AppDetailPage() {
  const { appId = "" } = useParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const app = useQuery({ queryKey: ["app", appId], queryFn: () => getApp(appId) });
  const [form, setForm] = useState<{ name: string; description: string; redirect_uris: string; webhook_url: string } | null>(null);
  useEffect(() => {
    if (app.data && !form)
      setForm({ name: app.data.name, description: app.data.description, redirect_uris: app.data.redirect_uris.join("\n"), webhook_url: app.data.webhook_url ?? "" });
  }, [app.data, form]);
  const save = useMutation({
    mutationFn: () =>
      updateApp(appId, {
        name: form!.name,
        description: form!.description,
        redirect_uris: form!.redirect_uris.split(/\s+/).filter(Boolean),
        webhook_url: form!.webhook_url.trim() || null,
      }),
    onSuccess: (updated) => {
      queryClient.setQueryData(["app", appId], updated);
      void queryClient.invalidateQueries({ queryKey: ["apps"] });
    },
  });
  const [secret, setSecret] = useState<Schema<"AppWithSecret"> | null>(null);
  const [confirmRotate, setConfirmRotate] = useState(false);
  const rotate = useMutation({
    mutationFn: () => rotateAppSecret(appId),
    onSuccess: (result) => {
      setSecret(result);
      setConfirmRotate(false);
    },
  });
  const [confirmDelete, setConfirmDelete] = useState(false);
  // What deleting orphans: every package of this app (the list walks all pages).
  const packages = useQuery({
    queryKey: ["packages", "of-app", appId],
    enabled: confirmDelete,
    queryFn: async () => {
      const mine: Schema<"Package">[] = [];
      for (let offset = 0; ; offset += 100) {
        const page = await listPackages(undefined, offset, 100);
        mine.push(...page.items.filter((p) => p.appId === appId));
        if (!page.pagination.hasMore) return mine;
      }
    },
  });
  const remove = useMutation({
    mutationFn: () => deleteApp(appId),
    onSuccess: () => {
      forgetAppToken(appId);
      void queryClient.invalidateQueries({ queryKey: ["apps"] });
      void queryClient.invalidateQueries({ queryKey: ["packages"] });
      navigate("/apps", { replace: true });
    },
  });

  return (
    <>
      <p className="breadcrumb">
        <Link to="/apps">Apps</Link> /
      </p>
      <h1>{app.data?.name ?? "App"}</h1>
      {app.isPending && <Loading />}
      <ErrorNotice error={app.error} title="Could not load the app" />
      {app.data && (
        <>
          <dl className="facts">
            <dt>App id</dt>
            <dd>
              <code>{app.data.id}</code>
            </dd>
            <dt>Client id</dt>
            <dd>
              <code>{app.data.client_id}</code>
            </dd>
            <dt>Created</dt>
            <dd>{formatDate(app.data.created_at)}</dd>
          </dl>
          <p className="actions">
            <Link className="button secondary" to={`/runtime?app=${appId}`}>
              Runtime
            </Link>
            <Link className="button secondary" to={`/sandbox?app=${appId}`}>
              Sandbox
            </Link>
            <Link className="button secondary" to={`/quality?app=${appId}`}>
              Quality
            </Link>
          </p>
          {secret && <SecretOnce label="New client secret" value={secret.client_secret} />}
          {form && (
            <section aria-labelledby="app-edit">
              <h2 id="app-edit">Details</h2>
              <SaveOutcome mutation={save} errorTitle="Could not save the app" />
              <form
                onSubmit={(e) => {
                  e.preventDefault();
                  save.mutate();
                }}
              >
                <Field label="Name">{(p) => <input {...p} required maxLength={80} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />}</Field>
                <Field label="Description">{(p) => <textarea {...p} rows={2} maxLength={1000} value={form.description} onChange={(e) => setForm({ ...form, description: e.target.value })} />}</Field>
                <Field label="Redirect URIs" hint="One https URL a line, at most 10.">
                  {(p) => <textarea {...p} rows={3} value={form.redirect_uris} onChange={(e) => setForm({ ...form, redirect_uris: e.target.value })} />}
                </Field>
                <Field label="Webhook URL (optional)" hint="An https URL; leave empty for none.">
                  {(p) => <input {...p} type="url" value={form.webhook_url} onChange={(e) => setForm({ ...form, webhook_url: e.target.value })} />}
                </Field>
                <button type="submit" disabled={save.isPending}>
                  {save.isPending ? "Saving…" : "Save changes"}
                </button>
              </form>
            </section>
          )}
          <section aria-labelledby="app-danger" className="danger-zone">
            <h2 id="app-danger">Credentials and deletion</h2>
            <p>Rotating issues a new client secret; the current one stops working at once (access tokens already issued last until they expire).</p>
            <button type="button" className="secondary" onClick={() => setConfirmRotate(true)}>
              Rotate the client secret
            </button>{" "}
            <button type="button" className="danger" onClick={() => setConfirmDelete(true)}>
              Delete the app
            </button>
          </section>
          <Dialog open={confirmRotate} title="Rotate the client secret?" onClose={() => setConfirmRotate(false)}>
            <p>Every service using the current secret fails to get tokens until it has the new one.</p>
            <ErrorNotice error={rotate.error} title="Could not rotate the secret" />
            <div className="dialog-actions">
              <button type="button" className="danger" onClick={() => rotate.mutate()} disabled={rotate.isPending}>
                {rotate.isPending ? "Rotating…" : "Rotate now"}
              </button>
              <button type="button" className="secondary" onClick={() => setConfirmRotate(false)}>
                Cancel
              </button>
            </div>
          </Dialog>
          <Dialog open={confirmDelete} title={`Delete ${app.data.name}?`} onClose={() => setConfirmDelete(false)}>
            <p>
              This deletes the app, its client credentials and its runtime registration. Its packages become <strong>orphaned</strong>: flagged in the
              catalog at once and removed from it after 30 days, unless you move them to another app.
            </p>
            {packages.isLoading && <Loading label="Finding the packages this orphans" />}
            <ErrorNotice error={packages.error} />
            {packages.data && (
              <div role="region" aria-label="Packages this orphans">
                {packages.data.length === 0 ? (
                  <p>No package belongs to this app.</p>
                ) : (
                  <>
                    <p>
                      <strong>{packages.data.length}</strong> package{packages.data.length === 1 ? "" : "s"} will be orphaned:
                    </p>
                    <ul>
                      {packages.data.map((p) => (
                        <li key={p.id}>
                          {p.name} (<code>{p.slug}</code>) <StatusBadge value={p.status} />
                          {p.installCount > 0 && ` · ${p.installCount} installs`}
                        </li>
                      ))}
                    </ul>
                  </>
                )}
              </div>
            )}
            <ErrorNotice error={remove.error} title="Could not delete the app" />
            <div className="dialog-actions">
              <button type="button" className="danger" onClick={() => remove.mutate()} disabled={remove.isPending || packages.isLoading}>
                {remove.isPending ? "Deleting…" : "Delete the app"}
              </button>
              <button type="button" className="secondary" onClick={() => setConfirmDelete(false)}>
                Cancel
              </button>
            </div>
          </Dialog>
        </>
      )}
    </>
  );
}

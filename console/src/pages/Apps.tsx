import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";
import { createApp, getAccount, listApps, type Schema } from "../api";
import { ErrorNotice, Field, formatDate, Loading, Pager, SecretOnce } from "../components/ui";

export function AppsPage() {
  const queryClient = useQueryClient();
  const [offset, setOffset] = useState(0);
  const apps = useQuery({ queryKey: ["apps", offset], queryFn: () => listApps(offset) });
  const account = useQuery({ queryKey: ["account"], queryFn: getAccount });
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [created, setCreated] = useState<Schema<"AppWithSecret"> | null>(null);
  const create = useMutation({
    mutationFn: () => createApp({ name, description: description || undefined }),
    onSuccess: (app) => {
      setCreated(app);
      setName("");
      setDescription("");
      void queryClient.invalidateQueries({ queryKey: ["apps"] });
    },
  });
  return (
    <>
      <h1>Apps</h1>
      <p className="lead">Each app has OAuth client credentials; its runtime and packages belong to it.</p>
      {created && (
        <SecretOnce label="Client secret" value={created.client_secret}>
          <p>
            App <strong>{created.name}</strong>, client id <code>{created.client_id}</code>. <Link to={`/apps/${created.id}`}>Open the app</Link> or{" "}
            <Link to={`/runtime?app=${created.id}`}>register its runtime</Link>.
          </p>
          <button type="button" className="secondary small" onClick={() => setCreated(null)}>
            I have stored the secret
          </button>
        </SecretOnce>
      )}
      <section aria-labelledby="apps-list">
        <h2 id="apps-list">Your apps</h2>
        {apps.isPending && <Loading />}
        <ErrorNotice error={apps.error} title="Could not list your apps" />
        {apps.data && apps.data.items.length === 0 && <p>No apps yet.</p>}
        {apps.data && apps.data.items.length > 0 && (
          <div className="table-wrap" tabIndex={0} role="region" aria-label="Your apps, newest first">
            <table>
              <caption className="visually-hidden">Your apps, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Client id</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {apps.data.items.map((app) => (
                  <tr key={app.id}>
                    <td>
                      <Link to={`/apps/${app.id}`}>{app.name}</Link>
                    </td>
                    <td>
                      <code>{app.client_id}</code>
                    </td>
                    <td>{formatDate(app.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <Pager pagination={apps.data?.pagination} onOffset={setOffset} label="Apps" />
      </section>
      <section aria-labelledby="apps-new">
        <h2 id="apps-new">Create an app</h2>
        {account.data?.status === "pending_verification" && <p className="hint">Verify your e-mail address first: the API refuses apps of unverified accounts.</p>}
        <ErrorNotice error={create.error} title="Could not create the app" />
        <form
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          <Field label="App name">{(p) => <input {...p} required maxLength={80} value={name} onChange={(e) => setName(e.target.value)} />}</Field>
          <Field label="Description (optional)">{(p) => <textarea {...p} maxLength={1000} rows={2} value={description} onChange={(e) => setDescription(e.target.value)} />}</Field>
          <button type="submit" disabled={create.isPending}>
            {create.isPending ? "Creating…" : "Create app"}
          </button>
        </form>
      </section>
    </>
  );
}

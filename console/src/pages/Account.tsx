import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { type AccountUpdate, rateLimitUsage, type Schema, updateAccount } from "../api";
import { ErrorNotice, Field, formatDate, Loading, SaveOutcome, StatusBadge } from "../components/ui";
import { VerifyBanner } from "./Overview";

const PREFERENCES: { key: keyof Schema<"NotificationPreferences">; label: string }[] = [
  { key: "review_updates", label: "Review updates (queued, approved, rejected)" },
  { key: "quality_alerts", label: "Quality alerts and certification changes" },
  { key: "webhook_failures", label: "Webhook endpoints failing or disabled" },
  { key: "product_news", label: "Product news" },
];

export function AccountPage() {
  const queryClient = useQueryClient();
  const usage = useQuery({ queryKey: ["account", "usage"], queryFn: rateLimitUsage });
  const account = usage.data?.account;
  const [form, setForm] = useState<{ company_name: string; contact_email: string; prefs: Schema<"NotificationPreferences"> } | null>(null);
  useEffect(() => {
    if (account && !form) setForm({ company_name: account.company_name, contact_email: account.contact_email, prefs: account.notification_preferences });
  }, [account, form]);
  const save = useMutation({
    mutationFn: (body: AccountUpdate) => updateAccount(body),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["account"] }),
  });
  return (
    <>
      <h1>Account</h1>
      {usage.isPending && <Loading />}
      <ErrorNotice error={usage.error} title="Could not load your account" />
      {account && account.status === "pending_verification" && <VerifyBanner email={account.email} />}
      {account && usage.data && (
        <div className="cards">
          <section className="card" aria-labelledby="acct-plan">
            <h2 id="acct-plan">Plan and rate limit</h2>
            <dl className="facts">
              <dt>Plan tier</dt>
              <dd>
                <strong>{account.plan_tier}</strong>
              </dd>
              <dt>Limit</dt>
              <dd>{account.rate_limit_per_minute.toLocaleString()} requests a minute per app</dd>
              <dt>Used this minute</dt>
              <dd>
                {usage.data.limit !== null && usage.data.remaining !== null ? (
                  <>
                    <meter min={0} max={usage.data.limit} value={usage.data.limit - usage.data.remaining} aria-label="Requests used this minute" />{" "}
                    {(usage.data.limit - usage.data.remaining).toLocaleString()} of {usage.data.limit.toLocaleString()}
                  </>
                ) : (
                  "not reported"
                )}
              </dd>
              <dt>Window resets</dt>
              <dd>{usage.data.resetAt ? new Date(usage.data.resetAt * 1000).toLocaleTimeString() : "—"}</dd>
            </dl>
            <button type="button" className="secondary small" onClick={() => usage.refetch()} disabled={usage.isFetching}>
              {usage.isFetching ? "Refreshing…" : "Refresh usage"}
            </button>
          </section>
          <section className="card" aria-labelledby="acct-id">
            <h2 id="acct-id">Sign-in</h2>
            <dl className="facts">
              <dt>Login e-mail</dt>
              <dd>{account.email}</dd>
              <dt>Status</dt>
              <dd>
                <StatusBadge value={account.status} />
              </dd>
              <dt>Account id</dt>
              <dd>
                <code>{account.id}</code>
              </dd>
              <dt>Created</dt>
              <dd>{formatDate(account.created_at)}</dd>
            </dl>
          </section>
        </div>
      )}
      {form && (
        <section aria-labelledby="acct-edit">
          <h2 id="acct-edit">Company and notifications</h2>
          <SaveOutcome mutation={save} errorTitle="Could not save" />
          <form
            onSubmit={(e) => {
              e.preventDefault();
              save.mutate({ company_name: form.company_name, contact_email: form.contact_email, notification_preferences: form.prefs });
            }}
          >
            <Field label="Company name">{(p) => <input {...p} required value={form.company_name} onChange={(e) => setForm({ ...form, company_name: e.target.value })} />}</Field>
            <Field label="Contact e-mail" hint="Where notifications go; the login e-mail does not change.">
              {(p) => <input {...p} type="email" required value={form.contact_email} onChange={(e) => setForm({ ...form, contact_email: e.target.value })} />}
            </Field>
            <fieldset>
              <legend>E-mail me about</legend>
              {PREFERENCES.map(({ key, label }) => (
                <label key={key} className="check">
                  <input type="checkbox" checked={form.prefs[key]} onChange={(e) => setForm({ ...form, prefs: { ...form.prefs, [key]: e.target.checked } })} /> {label}
                </label>
              ))}
            </fieldset>
            <button type="submit" disabled={save.isPending}>
              {save.isPending ? "Saving…" : "Save changes"}
            </button>
          </form>
        </section>
      )}
    </>
  );
}

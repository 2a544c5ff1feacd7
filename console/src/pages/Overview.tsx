import { useMutation, useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { getAccount, listApps, listPackages, resendVerification } from "../api";
import { ErrorNotice, Loading, StatusBadge, Success } from "../components/ui";

/** Shown wherever an unverified account would fail: what to do about it. */
export function VerifyBanner({ email }: { email: string }) {
  const resend = useMutation({ mutationFn: () => resendVerification(email) });
  return (
    <div className="notice warning" role="region" aria-label="E-mail verification">
      <p>
        <strong>Verify your e-mail address.</strong> We sent a link to {email}. Until you open it you cannot create apps.
      </p>
      {resend.isSuccess ? (
        <p role="status">{resend.data.message}.</p>
      ) : (
        <button type="button" className="secondary small" onClick={() => resend.mutate()} disabled={resend.isPending}>
          {resend.isPending ? "Sending…" : "Send the e-mail again"}
        </button>
      )}
      <ErrorNotice error={resend.error} />
    </div>
  );
}

export function OverviewPage() {
  const account = useQuery({ queryKey: ["account"], queryFn: getAccount });
  const apps = useQuery({ queryKey: ["apps", 0], queryFn: () => listApps(0) });
  const packages = useQuery({ queryKey: ["packages", "all", 0], queryFn: () => listPackages(undefined, 0) });
  return (
    <>
      <h1>Overview</h1>
      {account.isPending && <Loading label="Loading your account" />}
      <ErrorNotice error={account.error} title="Could not load your account" />
      {account.data && (
        <>
          <p className="lead">
            {account.data.company_name} · <StatusBadge value={account.data.status} /> · plan <strong>{account.data.plan_tier}</strong>
          </p>
          {account.data.status === "pending_verification" && <VerifyBanner email={account.data.email} />}
          {account.data.status === "active" && (apps.data?.pagination.total ?? 1) === 0 && (
            <Success>
              <p>
                Your account is active. Start by <Link to="/apps">creating an app</Link>: it gets the client credentials your runtime uses.
              </p>
            </Success>
          )}
        </>
      )}
      <div className="cards">
        <section className="card" aria-labelledby="ov-apps">
          <h2 id="ov-apps">Apps</h2>
          <ErrorNotice error={apps.error} />
          <p className="big-number">{apps.data ? apps.data.pagination.total : "…"}</p>
          <Link to="/apps">Manage apps</Link>
        </section>
        <section className="card" aria-labelledby="ov-packages">
          <h2 id="ov-packages">Packages</h2>
          <ErrorNotice error={packages.error} />
          <p className="big-number">{packages.data ? packages.data.pagination.total : "…"}</p>
          <Link to="/packages">Manage packages</Link>
        </section>
        <section className="card" aria-labelledby="ov-next">
          <h2 id="ov-next">The path to the catalog</h2>
          <ol className="steps">
            <li>
              <Link to="/apps">Create an app</Link> and keep its secret
            </li>
            <li>
              <Link to="/runtime">Register your runtime</Link>
            </li>
            <li>
              <Link to="/packages/new">Create a package</Link>, validate it, submit it
            </li>
            <li>
              Watch its <Link to="/quality">quality</Link>
            </li>
          </ol>
        </section>
      </div>
    </>
  );
}

export function NotFoundPage() {
  return (
    <>
      <h1>Page not found</h1>
      <p>
        There is no console page at this address. <Link to="/">Go to the overview</Link>.
      </p>
    </>
  );
}

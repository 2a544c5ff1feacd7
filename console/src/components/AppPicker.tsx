import { useQuery } from "@tanstack/react-query";
import { useEffect, useId } from "react";
import { Link, useSearchParams } from "react-router";
import { listApps } from "../api";
import { ErrorNotice, Loading } from "./ui";

/**
 * Runtime, sandbox and quality belong to one app (their API calls carry that app's token): the app
 * is chosen here and kept in the address (?app=), so a page can be bookmarked and shared.
 */
export function useAppPicker() {
  const [params, setParams] = useSearchParams();
  const apps = useQuery({ queryKey: ["apps", "all"], queryFn: () => listApps(0, 100) });
  const chosen = params.get("app");
  const appId = chosen ?? apps.data?.items[0]?.id ?? null;
  useEffect(() => {
    if (!chosen && appId) setParams((p) => ({ ...Object.fromEntries(p), app: appId }), { replace: true });
  }, [chosen, appId, setParams]);
  const id = useId();
  const picker = (
    <div className="app-picker">
      {apps.isPending && <Loading label="Loading your apps" />}
      <ErrorNotice error={apps.error} title="Could not list your apps" />
      {apps.data && apps.data.items.length === 0 && (
        <p>
          You have no app yet. <Link to="/apps">Create one</Link> first.
        </p>
      )}
      {apps.data && apps.data.items.length > 0 && (
        <div className="field inline">
          <label htmlFor={id}>App</label>
          <select id={id} value={appId ?? ""} onChange={(e) => setParams({ app: e.target.value })}>
            {apps.data.items.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name} ({a.id})
              </option>
            ))}
          </select>
        </div>
      )}
    </div>
  );
  return { appId, picker };
}

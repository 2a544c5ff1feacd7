import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams } from "react-router";
import { approveReview, claimReview, getReview, listReviews, type ReviewStatus, rejectReview } from "../api";
import { useSession } from "../auth";
import { ErrorNotice, Field, formatDate, JsonBlock, Loading, Pager, StatusBadge, Success } from "../components/ui";

const STATUSES: ReviewStatus[] = ["queued", "claimed", "approved", "rejected"];

function ReviewersOnly() {
  return (
    <>
      <h1>Review queue</h1>
      <p>The review queue is for Aiffinity's package reviewers. Your account does not have the reviewer role.</p>
    </>
  );
}

export function ReviewsPage() {
  const { reviewer } = useSession();
  const [status, setStatus] = useState<ReviewStatus>("queued");
  const [offset, setOffset] = useState(0);
  const reviews = useQuery({ queryKey: ["reviews", status, offset], queryFn: () => listReviews(status, offset), enabled: reviewer });
  if (!reviewer) return <ReviewersOnly />;
  return (
    <>
      <h1>Review queue</h1>
      <div className="tabs" role="group" aria-label="Filter by status">
        {STATUSES.map((s) => (
          <button
            key={s}
            type="button"
            className={s === status ? "tab active" : "tab"}
            aria-pressed={s === status}
            onClick={() => {
              setStatus(s);
              setOffset(0);
            }}
          >
            {s[0]!.toUpperCase() + s.slice(1)}
          </button>
        ))}
      </div>
      {reviews.isPending && <Loading />}
      <ErrorNotice error={reviews.error} title="Could not load the queue" />
      {reviews.data && reviews.data.items.length === 0 && <p>Nothing {status}.</p>}
      {reviews.data && reviews.data.items.length > 0 && (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Reviews, oldest first">
          <table>
            <caption className="visually-hidden">Reviews, oldest first</caption>
            <thead>
              <tr>
                <th scope="col">Package</th>
                <th scope="col">Version</th>
                <th scope="col">Risk tier</th>
                <th scope="col">Status</th>
                <th scope="col">Queued</th>
              </tr>
            </thead>
            <tbody>
              {reviews.data.items.map((r) => (
                <tr key={r.id}>
                  <td>
                    <Link to={`/reviews/${r.id}`}>{r.packageName}</Link> <code className="muted">{r.slug}</code>
                  </td>
                  <td>{r.version}</td>
                  <td>{r.riskTier.replace(/_/g, " ")}</td>
                  <td>
                    <StatusBadge value={r.status} />
                  </td>
                  <td>{formatDate(r.queuedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager pagination={reviews.data?.pagination} onOffset={setOffset} label="Reviews" />
    </>
  );
}

export function ReviewDetailPage() {
  const { reviewId = "" } = useParams();
  const { reviewer } = useSession();
  const queryClient = useQueryClient();
  const review = useQuery({ queryKey: ["review", reviewId], queryFn: () => getReview(reviewId), enabled: reviewer });
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ["review", reviewId] });
    void queryClient.invalidateQueries({ queryKey: ["reviews"] });
  };
  const claim = useMutation({ mutationFn: () => claimReview(reviewId), onSuccess: refresh });
  const [notes, setNotes] = useState("");
  const [reasons, setReasons] = useState([{ message: "", path: "" }]);
  const approve = useMutation({ mutationFn: () => approveReview(reviewId, notes || undefined), onSuccess: refresh });
  const reject = useMutation({
    mutationFn: () =>
      rejectReview(
        reviewId,
        reasons.filter((r) => r.message.trim()).map((r) => ({ message: r.message.trim(), ...(r.path.trim() ? { path: r.path.trim() } : {}) })),
        notes || undefined,
      ),
    onSuccess: refresh,
  });
  if (!reviewer) return <ReviewersOnly />;
  const r = review.data;
  return (
    <>
      <p className="breadcrumb">
        <Link to="/reviews">Review queue</Link> /
      </p>
      <h1>Review: {r ? `${r.packageName} ${r.version}` : reviewId}</h1>
      {review.isPending && <Loading />}
      <ErrorNotice error={review.error} title="Could not load the review" />
      {r && (
        <>
          <p className="lead">
            <StatusBadge value={r.status} /> · {r.riskTier.replace(/_/g, " ")} · queued {formatDate(r.queuedAt)}
            {r.claimedAt && ` · claimed ${formatDate(r.claimedAt)} until ${formatDate(r.claimExpiresAt)}`}
          </p>
          {r.status === "approved" && (
            <Success>
              <p>Approved{r.decidedAt && ` on ${formatDate(r.decidedAt)}`}. The provider can publish it now.</p>
            </Success>
          )}
          {r.status === "rejected" && (
            <div className="notice warning" role="status">
              <p>Rejected{r.decidedAt && ` on ${formatDate(r.decidedAt)}`}:</p>
              <ul>
                {r.reasons.map((reason, i) => (
                  <li key={i}>
                    {reason.path && <code>{reason.path}</code>} {reason.message}
                  </li>
                ))}
              </ul>
            </div>
          )}
          <section aria-labelledby="rv-listing">
            <h2 id="rv-listing">Listing</h2>
            <dl className="facts">
              <dt>Name</dt>
              <dd>{r.listing.name}</dd>
              <dt>Description</dt>
              <dd>{r.listing.description}</dd>
              <dt>Category</dt>
              <dd>{r.listing.category ?? "—"}</dd>
              <dt>Privacy policy</dt>
              <dd>{r.listing.privacyPolicyUrl ?? "—"}</dd>
              <dt>Support</dt>
              <dd>{r.listing.supportUrl ?? "—"}</dd>
            </dl>
            {r.validation?.score && (
              <p>
                Validation: {r.validation.score.overall}/100, {r.validation.findings.length} findings.
              </p>
            )}
          </section>
          <section aria-labelledby="rv-caps">
            <h2 id="rv-caps">Capabilities</h2>
            {r.capabilities.map((c) => (
              <details key={c.id}>
                <summary>
                  <code>{c.id}</code> {c.name} · data: {(c.dataCategories ?? []).join(", ") || "—"} · scopes: {(c.scopes ?? []).join(", ") || "—"}
                </summary>
                <JsonBlock label={`Descriptor of ${c.id}`} value={c} />
              </details>
            ))}
          </section>
          {(r.status === "queued" || r.status === "claimed") && (
            <section aria-labelledby="rv-decide">
              <h2 id="rv-decide">Decision</h2>
              {r.status === "queued" && (
                <>
                  <p>Claim the review first: it is yours for 4 hours.</p>
                  <button type="button" onClick={() => claim.mutate()} disabled={claim.isPending}>
                    {claim.isPending ? "Claiming…" : "Claim the review"}
                  </button>
                  <ErrorNotice error={claim.error} title="Could not claim the review" />
                </>
              )}
              {r.status === "claimed" && (
                <>
                  <Field label="Notes to the provider (optional)">{(p) => <textarea {...p} rows={2} value={notes} onChange={(e) => setNotes(e.target.value)} />}</Field>
                  <ErrorNotice error={approve.error} title="Could not approve" />
                  <button type="button" onClick={() => approve.mutate()} disabled={approve.isPending}>
                    {approve.isPending ? "Approving…" : "Approve"}
                  </button>
                  <fieldset className="reject">
                    <legend>Or reject, with reasons the provider can act on</legend>
                    {reasons.map((reason, i) => (
                      <div className="grid-2" key={i}>
                        <Field label={`Reason ${i + 1}`}>
                          {(p) => <input {...p} value={reason.message} onChange={(e) => setReasons(reasons.map((x, j) => (j === i ? { ...x, message: e.target.value } : x)))} />}
                        </Field>
                        <Field label={`JSON path of reason ${i + 1} (optional)`}>
                          {(p) => (
                            <input {...p} placeholder="$.version.capabilities[0].scopes" value={reason.path} onChange={(e) => setReasons(reasons.map((x, j) => (j === i ? { ...x, path: e.target.value } : x)))} />
                          )}
                        </Field>
                      </div>
                    ))}
                    <button type="button" className="secondary small" onClick={() => setReasons([...reasons, { message: "", path: "" }])}>
                      Add a reason
                    </button>
                    <ErrorNotice error={reject.error} title="Could not reject" />
                    <button type="button" className="danger" onClick={() => reject.mutate()} disabled={reject.isPending || !reasons.some((x) => x.message.trim())}>
                      {reject.isPending ? "Rejecting…" : "Reject"}
                    </button>
                  </fieldset>
                </>
              )}
            </section>
          )}
        </>
      )}
    </>
  );
}

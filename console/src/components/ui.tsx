import { type ReactNode, useEffect, useId, useRef, useState } from "react";
import { AiffinityError, type Pagination } from "../api";

/** Every error the API returns, with its message, code and request id (quote it to support). */
export function ErrorNotice({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const api = error instanceof AiffinityError ? error : null;
  return (
    <div className="notice error" role="alert">
      <strong>{title ?? "Something went wrong"}</strong>
      <p className="error-message">{error instanceof Error ? error.message : String(error)}</p>
      {api && (
        <p className="error-meta">
          <span>
            Code <code>{api.code}</code>
          </span>
          {api.status > 0 && <span>HTTP {api.status}</span>}
          {api.requestId && (
            <span>
              Request id <code data-testid="request-id">{api.requestId}</code>
            </span>
          )}
        </p>
      )}
      {api && api.details.length > 1 && (
        <ul>
          {api.details.map((d) => (
            <li key={`${d.field}:${d.message}`}>
              <code>{d.field}</code>: {d.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Loading({ label = "Loading" }: { label?: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {label}…
    </p>
  );
}

/** Previous / next through a list, with "21–40 of 57". */
export function Pager({ pagination, onOffset, label }: { pagination: Pagination | undefined; onOffset: (offset: number) => void; label: string }) {
  if (!pagination || (pagination.offset === 0 && !pagination.hasMore)) {
    return pagination && pagination.total > 0 ? <p className="pager-summary">{pagination.total} in all</p> : null;
  }
  const { offset, limit, total, hasMore } = pagination;
  return (
    <nav className="pager" aria-label={`${label} pages`}>
      <button type="button" className="secondary" disabled={offset === 0} onClick={() => onOffset(Math.max(0, offset - limit))}>
        Previous
      </button>
      <span aria-live="polite">
        {total === 0 ? 0 : offset + 1}–{Math.min(offset + limit, total)} of {total}
      </span>
      <button type="button" className="secondary" disabled={!hasMore} onClick={() => onOffset(offset + limit)}>
        Next
      </button>
    </nav>
  );
}

export function CopyButton({ value, label = "Copy" }: { value: string; label?: string }) {
  const [copied, setCopied] = useState<"idle" | "copied" | "failed">("idle");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied("copied");
    } catch {
      setCopied("failed");
    }
  };
  return (
    <>
      <button type="button" className="secondary small" onClick={copy}>
        {copied === "copied" ? "Copied" : label}
      </button>
      <span className="visually-hidden" role="status" aria-live="polite">
        {copied === "copied" ? "Copied to the clipboard" : copied === "failed" ? "Copy failed: select the text and copy it yourself" : ""}
      </span>
    </>
  );
}

/** A secret shown once: the value, a copy button and a clear warning. */
export function SecretOnce({ label, value, children }: { label: string; value: string; children?: ReactNode }) {
  const id = useId();
  return (
    <div className="notice warning secret-once" role="region" aria-labelledby={id}>
      <h3 id={id}>{label}</h3>
      <p>
        <strong>Copy it now: it is shown only this once.</strong> Aiffinity keeps only a hash of it; if you lose it, rotate it.
      </p>
      <div className="secret-row">
        <code className="secret" data-testid="secret-value">
          {value}
        </code>
        <CopyButton value={value} label={`Copy ${label.toLowerCase()}`} />
      </div>
      {children}
    </div>
  );
}

export function Field({ label, hint, children, error }: { label: string; hint?: string; error?: string; children: (props: { id: string; "aria-describedby"?: string }) => ReactNode }) {
  const id = useId();
  const hintId = hint || error ? `${id}-hint` : undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-describedby": hintId })}
      {(hint || error) && (
        <p id={hintId} className={error ? "hint field-error" : "hint"}>
          {error ?? hint}
        </p>
      )}
    </div>
  );
}

export function StatusBadge({ value }: { value: string }) {
  return <span className={`badge badge-${value.replace(/[^a-z_]/g, "")}`}>{value.replace(/_/g, " ")}</span>;
}

export function Success({ children }: { children: ReactNode }) {
  return (
    <div className="notice success" role="status">
      {children}
    </div>
  );
}

/** A native modal dialog: focus moves into it, Escape closes it. */
export function Dialog({ open, title, onClose, children }: { open: boolean; title: string; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} aria-labelledby={id} onClose={onClose}>
      <h2 id={id}>{title}</h2>
      {children}
    </dialog>
  );
}

/** What a save form's mutation came to: its error, or a short confirmation. */
export function SaveOutcome({ mutation, errorTitle }: { mutation: { error: unknown; isSuccess: boolean }; errorTitle: string }) {
  return (
    <>
      <ErrorNotice error={mutation.error} title={errorTitle} />
      {mutation.isSuccess && (
        <Success>
          <p>Saved.</p>
        </Success>
      )}
    </>
  );
}

/** Asks for the reason of a deprecation (packages and versions) and confirms it. */
export function DeprecateDialog({
  open,
  title,
  errorTitle,
  reasonLabel,
  mutation,
  onClose,
}: {
  open: boolean;
  title: string;
  errorTitle: string;
  reasonLabel: string;
  mutation: { error: unknown; isPending: boolean; mutate: (reason: string) => void };
  onClose: () => void;
}) {
  const [reason, setReason] = useState("");
  return (
    <Dialog open={open} title={title} onClose={onClose}>
      <ErrorNotice error={mutation.error} title={errorTitle} />
      <form
        onSubmit={(e) => {
          e.preventDefault();
          mutation.mutate(reason);
        }}
      >
        <Field label={reasonLabel}>{(p) => <input {...p} required value={reason} onChange={(e) => setReason(e.target.value)} />}</Field>
        <div className="dialog-actions">
          <button type="submit" className="danger" disabled={mutation.isPending}>
            Deprecate
          </button>
          <button type="button" className="secondary" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export const formatDate = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "—");

export function JsonBlock({ value, label }: { value: unknown; label: string }) {
  return (
    <pre className="json" tabIndex={0} aria-label={label}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useRef, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { createAccount, verifyEmail } from "../api";
import { authMessage, checkResetCode, requestPasswordReset, resetPassword, signIn, useSession } from "../auth";
import { ErrorNotice, Field, Loading, Success } from "../components/ui";

/** Only paths of this console are followed after sign-in (no open redirect). */
const safeNext = (next: string | null) => (next && next.startsWith("/") && !next.startsWith("//") ? next : "/");

export function SignInPage() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const { user } = useSession();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const mutation = useMutation({ mutationFn: () => signIn(email, password), onSuccess: () => navigate(safeNext(params.get("next")), { replace: true }) });
  useEffect(() => {
    if (user && !mutation.isPending && !mutation.isSuccess) navigate(safeNext(params.get("next")), { replace: true });
  }, [user, mutation.isPending, mutation.isSuccess, navigate, params]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    mutation.mutate();
  };
  return (
    <section className="auth-card">
      <h1>Sign in</h1>
      <p>Manage your apps, runtimes and capability packages.</p>
      {mutation.error && (
        <div className="notice error" role="alert">
          <strong>Could not sign in</strong>
          <p className="error-message">{authMessage(mutation.error)}</p>
        </div>
      )}
      <form onSubmit={submit}>
        <Field label="E-mail">{(p) => <input {...p} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />}</Field>
        <Field label="Password">
          {(p) => <input {...p} type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />}
        </Field>
        <button type="submit" disabled={mutation.isPending}>
          {mutation.isPending ? "Signing in…" : "Sign in"}
        </button>
      </form>
      <p className="auth-links">
        <Link to="/forgot-password">Forgot your password?</Link> · New to Aiffinity? <Link to="/signup">Create a developer account</Link>
      </p>
    </section>
  );
}

export function SignUpPage() {
  const navigate = useNavigate();
  const [form, setForm] = useState({ company_name: "", email: "", password: "" });
  const mutation = useMutation({
    mutationFn: async () => {
      const account = await createAccount(form);
      await signIn(form.email, form.password);
      return account;
    },
    onSuccess: () => navigate("/", { replace: true }),
  });
  const set = (key: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [key]: e.target.value });
  return (
    <section className="auth-card">
      <h1>Create a developer account</h1>
      <p>Publish capability packages to every Aiffinity space. It is free to start.</p>
      <ErrorNotice error={mutation.error} title="Could not create the account" />
      <form
        onSubmit={(e) => {
          e.preventDefault();
          mutation.mutate();
        }}
      >
        <Field label="Company name">{(p) => <input {...p} required maxLength={120} autoComplete="organization" value={form.company_name} onChange={set("company_name")} />}</Field>
        <Field label="E-mail" hint="We send a verification link to this address.">
          {(p) => <input {...p} type="email" required autoComplete="email" value={form.email} onChange={set("email")} />}
        </Field>
        <Field label="Password" hint="At least 10 characters, with a letter and a digit or symbol.">
          {(p) => <input {...p} type="password" required minLength={10} autoComplete="new-password" value={form.password} onChange={set("password")} />}
        </Field>
        <button type="submit" disabled={mutation.isPending}>
          {mutation.isPending ? "Creating the account…" : "Create account"}
        </button>
      </form>
      <p className="auth-links">
        Already have an account? <Link to="/signin">Sign in</Link>
      </p>
    </section>
  );
}

/** The link of the verification e-mail: /verify-email?token=vt_... */
export function VerifyEmailPage() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const { user } = useSession();
  const queryClient = useQueryClient();
  const mutation = useMutation({ mutationFn: () => verifyEmail(token), onSuccess: () => queryClient.invalidateQueries({ queryKey: ["account"] }) });
  const started = useRef(false);
  useEffect(() => {
    if (token && !started.current) {
      started.current = true;
      mutation.mutate();
    }
  }, [token, mutation]);
  return (
    <section className="auth-card">
      <h1>Verify your e-mail address</h1>
      {!token && (
        <div className="notice error" role="alert">
          <p className="error-message">This link has no verification token. Open the link from the e-mail again, or ask for a new e-mail after signing in.</p>
        </div>
      )}
      {mutation.isPending && <Loading label="Verifying" />}
      <ErrorNotice error={mutation.error} title="Could not verify the address" />
      {mutation.isSuccess && (
        <Success>
          <p>
            <strong>{mutation.data.email}</strong> is verified. Your account is active: you can create apps now.
          </p>
        </Success>
      )}
      {(mutation.isSuccess || mutation.isError) && <p className="auth-links">{user ? <Link to="/">Go to the console</Link> : <Link to="/signin">Sign in</Link>}</p>}
    </section>
  );
}

export function ForgotPasswordPage() {
  const [email, setEmail] = useState("");
  const mutation = useMutation({ mutationFn: () => requestPasswordReset(email) });
  return (
    <section className="auth-card">
      <h1>Reset your password</h1>
      <p>We e-mail you a link to choose a new password.</p>
      {mutation.error && (
        <div className="notice error" role="alert">
          <p className="error-message">{authMessage(mutation.error)}</p>
        </div>
      )}
      {mutation.isSuccess ? (
        <Success>
          <p>If {email} has an account, a reset link is on its way. It works once and expires after an hour.</p>
        </Success>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            mutation.mutate();
          }}
        >
          <Field label="E-mail">{(p) => <input {...p} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />}</Field>
          <button type="submit" disabled={mutation.isPending}>
            {mutation.isPending ? "Sending…" : "Send the reset link"}
          </button>
        </form>
      )}
      <p className="auth-links">
        <Link to="/signin">Back to sign in</Link>
      </p>
    </section>
  );
}

/** Firebase Auth's e-mail action handler (the reset link lands here: ?mode=resetPassword&oobCode=...). */
export function AuthActionPage() {
  const [params] = useSearchParams();
  const mode = params.get("mode");
  const code = params.get("oobCode") ?? "";
  const [password, setPassword] = useState("");
  const [email, setEmail] = useState<string | null>(null);
  const [checkError, setCheckError] = useState<unknown>(null);
  useEffect(() => {
    if (mode === "resetPassword" && code) checkResetCode(code).then(setEmail, setCheckError);
  }, [mode, code]);
  const mutation = useMutation({ mutationFn: () => resetPassword(code, password) });
  if (mode !== "resetPassword") {
    return (
      <section className="auth-card">
        <h1>Unsupported link</h1>
        <p>This link is not one the console handles. E-mail verification links open /verify-email.</p>
      </section>
    );
  }
  return (
    <section className="auth-card">
      <h1>Choose a new password</h1>
      {checkError !== null && (
        <div className="notice error" role="alert">
          <p className="error-message">{authMessage(checkError)}</p>
          <Link to="/forgot-password">Ask for a new link</Link>
        </div>
      )}
      {mutation.error && (
        <div className="notice error" role="alert">
          <p className="error-message">{authMessage(mutation.error)}</p>
        </div>
      )}
      {mutation.isSuccess ? (
        <Success>
          <p>
            Your password is changed. <Link to="/signin">Sign in</Link> with it.
          </p>
        </Success>
      ) : (
        email && (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              mutation.mutate();
            }}
          >
            <p>
              For <strong>{email}</strong>
            </p>
            <Field label="New password" hint="At least 10 characters, with a letter and a digit or symbol.">
              {(p) => <input {...p} type="password" required minLength={10} autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />}
            </Field>
            <button type="submit" disabled={mutation.isPending}>
              {mutation.isPending ? "Saving…" : "Save the new password"}
            </button>
          </form>
        )
      )}
    </section>
  );
}

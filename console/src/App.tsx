import { type ReactNode, useEffect, useRef } from "react";
import { Navigate, NavLink, Route, Routes, useLocation, useNavigate } from "react-router";
import { useQueryClient } from "@tanstack/react-query";
import { signOutUser, useSession } from "./auth";
import { Loading } from "./components/ui";
import { AccountPage } from "./pages/Account";
import { AppDetailPage } from "./pages/AppDetail";
import { AppsPage } from "./pages/Apps";
import { AuthActionPage, ForgotPasswordPage, SignInPage, SignUpPage, VerifyEmailPage } from "./pages/Auth";
import { NotFoundPage, OverviewPage } from "./pages/Overview";
import { NewPackagePage, PackageDetailPage, PackagesPage } from "./pages/Packages";
import { QualityPage } from "./pages/Quality";
import { ReviewDetailPage, ReviewsPage } from "./pages/Reviews";
import { RuntimePage } from "./pages/Runtime";
import { SandboxPage } from "./pages/Sandbox";
import { VersionPage } from "./pages/Version";

/** Moves focus to the page's heading and names the page in the title after each navigation. */
function useRouteAnnouncer() {
  const location = useLocation();
  const first = useRef(true);
  useEffect(() => {
    const t = setTimeout(() => {
      const heading = document.querySelector<HTMLElement>("main h1");
      if (heading) {
        document.title = `${heading.textContent} · Aiffinity Developer Console`;
        if (!first.current) {
          heading.tabIndex = -1;
          heading.focus({ preventScroll: false });
        }
      }
      first.current = false;
    }, 50);
    return () => clearTimeout(t);
  }, [location.pathname]);
}

function RequireUser({ children }: { children: ReactNode }) {
  const { user, ready } = useSession();
  const location = useLocation();
  if (!ready) return <Loading label="Signing in" />;
  if (!user) return <Navigate to={`/signin?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  return <>{children}</>;
}

function Shell({ children }: { children: ReactNode }) {
  const { user, reviewer } = useSession();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const signOut = async () => {
    await signOutUser();
    queryClient.clear();
    navigate("/signin");
  };
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <NavLink to="/" className="brand">
          <span aria-hidden="true" className="logo">
            ▲
          </span>{" "}
          Aiffinity <span className="brand-sub">Developers</span>
        </NavLink>
        {user && (
          <div className="user">
            <span className="user-email">{user.email}</span>
            <button type="button" className="secondary small" onClick={signOut}>
              Sign out
            </button>
          </div>
        )}
      </header>
      <div className="layout">
        {user && (
          <nav className="sidenav" aria-label="Console">
            <ul>
              <li>
                <NavLink to="/" end>
                  Overview
                </NavLink>
              </li>
              <li>
                <NavLink to="/apps">Apps</NavLink>
              </li>
              <li>
                <NavLink to="/runtime">Runtime</NavLink>
              </li>
              <li>
                <NavLink to="/packages">Packages</NavLink>
              </li>
              <li>
                <NavLink to="/sandbox">Sandbox</NavLink>
              </li>
              <li>
                <NavLink to="/quality">Quality</NavLink>
              </li>
              <li>
                <NavLink to="/account">Account</NavLink>
              </li>
              {reviewer && (
                <li>
                  <NavLink to="/reviews">Review queue</NavLink>
                </li>
              )}
            </ul>
          </nav>
        )}
        <main id="main" className="content">
          {children}
        </main>
      </div>
    </>
  );
}

export function App() {
  useRouteAnnouncer();
  const signedIn = (page: ReactNode) => <RequireUser>{page}</RequireUser>;
  return (
    <Shell>
      <Routes>
        <Route path="/signin" element={<SignInPage />} />
        <Route path="/signup" element={<SignUpPage />} />
        <Route path="/verify-email" element={<VerifyEmailPage />} />
        <Route path="/forgot-password" element={<ForgotPasswordPage />} />
        <Route path="/auth/action" element={<AuthActionPage />} />
        <Route path="/" element={signedIn(<OverviewPage />)} />
        <Route path="/account" element={signedIn(<AccountPage />)} />
        <Route path="/apps" element={signedIn(<AppsPage />)} />
        <Route path="/apps/:appId" element={signedIn(<AppDetailPage />)} />
        <Route path="/runtime" element={signedIn(<RuntimePage />)} />
        <Route path="/packages" element={signedIn(<PackagesPage />)} />
        <Route path="/packages/new" element={signedIn(<NewPackagePage />)} />
        <Route path="/packages/:packageId" element={signedIn(<PackageDetailPage />)} />
        <Route path="/packages/:packageId/versions/:versionId" element={signedIn(<VersionPage />)} />
        <Route path="/sandbox" element={signedIn(<SandboxPage />)} />
        <Route path="/quality" element={signedIn(<QualityPage />)} />
        <Route path="/reviews" element={signedIn(<ReviewsPage />)} />
        <Route path="/reviews/:reviewId" element={signedIn(<ReviewDetailPage />)} />
        <Route path="*" element={<NotFoundPage />} />
      </Routes>
    </Shell>
  );
}

import { initializeApp } from "firebase/app";
import {
  type Auth,
  confirmPasswordReset,
  connectAuthEmulator,
  getAuth,
  onIdTokenChanged,
  sendPasswordResetEmail,
  signInWithEmailAndPassword,
  signOut,
  type User,
  verifyPasswordResetCode,
} from "firebase/auth";
import { createContext, type ReactNode, useContext, useEffect, useState } from "react";
import type { ConsoleConfig } from "./config";

/** Sign-in, sign-out and password reset with the Firebase Auth JS SDK (the Auth emulator locally). */
let auth: Auth | null = null;

export function initAuth(config: ConsoleConfig): Auth {
  auth = getAuth(initializeApp(config.firebase));
  if (config.authEmulatorUrl) connectAuthEmulator(auth, config.authEmulatorUrl, { disableWarnings: true });
  return auth;
}

function current(): Auth {
  if (!auth) throw new Error("Auth is not initialised");
  return auth;
}

/** The signed-in user's ID token (refreshed by the SDK before it expires; `force` after a 401). */
export async function idToken(force = false): Promise<string> {
  const user = current().currentUser;
  if (!user) throw new Error("Not signed in");
  return user.getIdToken(force);
}

export const signIn = (email: string, password: string) => signInWithEmailAndPassword(current(), email, password);
export const signOutUser = () => signOut(current());
export const requestPasswordReset = (email: string) =>
  sendPasswordResetEmail(current(), email, { url: `${window.location.origin}/signin`, handleCodeInApp: false });
export const checkResetCode = (code: string) => verifyPasswordResetCode(current(), code);
export const resetPassword = (code: string, password: string) => confirmPasswordReset(current(), code, password);

/** Firebase Auth's error codes, in words a person can act on. */
export function authMessage(error: unknown): string {
  const code = (error as { code?: string } | null)?.code ?? "";
  const messages: Record<string, string> = {
    "auth/invalid-credential": "E-mail or password is incorrect.",
    "auth/invalid-login-credentials": "E-mail or password is incorrect.",
    "auth/wrong-password": "E-mail or password is incorrect.",
    "auth/user-not-found": "E-mail or password is incorrect.",
    "auth/too-many-requests": "Too many attempts. Wait a few minutes and try again, or reset your password.",
    "auth/user-disabled": "This account is disabled. Contact support.",
    "auth/invalid-email": "Enter a valid e-mail address.",
    "auth/expired-action-code": "This link has expired. Ask for a new one.",
    "auth/invalid-action-code": "This link is invalid or was already used. Ask for a new one.",
    "auth/weak-password": "Choose a stronger password.",
    "auth/network-request-failed": "The sign-in service could not be reached. Check your connection and retry.",
  };
  return messages[code] ?? (error instanceof Error ? error.message : String(error));
}

export interface Session {
  user: User | null;
  reviewer: boolean;
  ready: boolean;
}

const SessionContext = createContext<Session>({ user: null, reviewer: false, ready: false });

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session>({ user: null, reviewer: false, ready: false });
  useEffect(
    () =>
      onIdTokenChanged(current(), async (user) => {
        const reviewer = user ? (await user.getIdTokenResult()).claims.reviewer === true : false;
        setSession({ user, reviewer, ready: true });
      }),
    [],
  );
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

export const useSession = () => useContext(SessionContext);

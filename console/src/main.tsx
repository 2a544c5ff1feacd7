import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router";
import { AiffinityError } from "./api";
import { App } from "./App";
import { initAuth, SessionProvider } from "./auth";
import { loadConfig } from "./config";
import "./styles.css";

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 15_000,
      refetchOnWindowFocus: false,
      // The SDK already retried 429/503; a 4xx will not get better by asking again.
      retry: (count, error) => count < 1 && !(error instanceof AiffinityError && error.status >= 400 && error.status < 500),
    },
  },
});

const root = createRoot(document.getElementById("root")!);

loadConfig()
  .then((config) => {
    initAuth(config);
    root.render(
      <StrictMode>
        <QueryClientProvider client={queryClient}>
          <SessionProvider>
            <BrowserRouter>
              <App />
            </BrowserRouter>
          </SessionProvider>
        </QueryClientProvider>
      </StrictMode>,
    );
  })
  .catch((error: unknown) => {
    root.render(
      <main className="boot-error">
        <h1>The console could not start</h1>
        <p role="alert">{error instanceof Error ? error.message : String(error)}</p>
      </main>,
    );
  });

import { defineConfig } from "@playwright/test";
import { baseUrl, CHROMIUM_ARGS, CHROMIUM_PATH } from "./tests/support/stack";

/**
 * Browser tests against the running stack (`npm test` starts it; `npm test -- browser` runs only
 * these). Debian's Chromium, headless, one worker: the machine has two cores, shared.
 */
export default defineConfig({
  testDir: "tests",
  testMatch: "**/*.spec.ts",
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 240_000,
  expect: { timeout: 30_000 },
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    baseURL: baseUrl(),
    browserName: "chromium",
    headless: true,
    viewport: { width: 1440, height: 900 },
    actionTimeout: 30_000,
    navigationTimeout: 60_000,
    screenshot: "only-on-failure",
    // Playwright gives every browser a fresh, temporary profile (user data dir).
    launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS },
  },
});

import AxeBuilder from "@axe-core/playwright";
import { expect, type Page, test as base } from "@playwright/test";
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./stack";

/**
 * `npm run screenshots` saves the main pages into docs/screenshots/ (shown in the README); a plain
 * test run saves them into console/test-results/screenshots/, so it leaves the tree clean.
 */
const SHOTS = process.env.AIFFINITY_SCREENSHOTS === "docs" ? join(ROOT, "docs/screenshots") : join(ROOT, "console/test-results/screenshots");
mkdirSync(SHOTS, { recursive: true });
mkdirSync(join(ROOT, "console/test-results"), { recursive: true });

export const WIDTHS = [1440, 375] as const;

export interface PageCheck {
  /** Asserted after every console page: no horizontal scrolling at 375 and 1440 px, no serious or critical axe-core violation. */
  (page: Page, name: string, options?: { screenshot?: boolean | "both" }): Promise<void>;
}

/** Each page's axe-core counts, one JSON line per page and width (the numbers the docs quote). */
const AXE_LOG = join(ROOT, "console/test-results/axe-results.jsonl");

export const test = base.extend<{ checkPage: PageCheck; allowConsoleErrors: (pattern: RegExp) => void }>({
  // No console errors: every message of level error (and every uncaught exception) fails the test,
  // unless the test said it expects it (an API error it provokes on purpose).
  allowConsoleErrors: [
    async ({ page }, use) => {
      const allowed: RegExp[] = [];
      const errors: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error" && !allowed.some((a) => a.test(m.text()))) errors.push(`console.error: ${m.text()}`);
      });
      page.on("pageerror", (e) => errors.push(`uncaught: ${e.message}`));
      await use((pattern) => allowed.push(pattern));
      expect(errors, "console errors").toEqual([]);
    },
    { auto: true },
  ],
  checkPage: async ({ page }, use) => {
    await use(async (p, name, options = {}) => {
      await expect(p.locator(".loading")).toHaveCount(0);
      for (const width of WIDTHS) {
        await p.setViewportSize({ width, height: width === 375 ? 812 : 900 });
        await expect(p.locator("main h1")).toBeVisible();
        const overflow = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        expect(overflow, `${name} scrolls sideways at ${width}px`).toBeLessThanOrEqual(1);
        const results = await new AxeBuilder({ page: p }).analyze();
        const counts = { page: name, width, violations: results.violations.map((v) => `${v.id}:${v.impact}`), passes: results.passes.length };
        appendFileSync(AXE_LOG, `${JSON.stringify(counts)}\n`);
        const serious = results.violations
          .filter((v) => v.impact === "serious" || v.impact === "critical")
          .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
        expect(serious, `${name} at ${width}px: serious or critical axe-core violations`).toEqual([]);
        const shoot = options.screenshot ?? true;
        if ((shoot && width === 1440) || (shoot === "both" && width === 375)) {
          await p.screenshot({ path: join(SHOTS, width === 1440 ? `${name}.png` : `${name}-mobile.png`), fullPage: width === 1440 });
        }
      }
      await p.setViewportSize({ width: 1440, height: 900 });
    });
  },
});

export { expect };

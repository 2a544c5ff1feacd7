import { expect, test } from "./support/fixtures";
import { call, createReviewer, eventually, PASSWORD, providerWithRuntime, type SampleProvider, startSampleProvider, uniqueSlug } from "./support/stack";

/**
 * A read_personal package goes to the manual review queue. A reviewer (a user with the reviewer
 * claim) claims it in the console and approves it; the provider then sees the decision and
 * publishes the version from the console.
 */
let sample: SampleProvider;
test.beforeAll(async () => {
  sample = await startSampleProvider();
});
test.afterAll(async () => {
  await sample?.close();
});

const WEATHER = {
  id: "weather_forecast",
  name: "Weather forecast",
  description: "Daily highs, lows and conditions for a location.",
  inputSchema: { type: "object", properties: { location: { type: "string", minLength: 1 }, days: { type: "integer", minimum: 1, maximum: 7 } }, required: ["location"], additionalProperties: false },
  outputSchema: { type: "object", required: ["location", "days"], properties: { location: { type: "string" }, days: { type: "array" } } },
  refreshIntervalSeconds: 1800,
  deadlineMs: 3000,
  sampleInput: { location: "Berlin", days: 3 },
  dataCategories: ["location"],
  scopes: ["read:location"],
};

test("a reviewer approves a queued package and its provider publishes it", async ({ browser, checkPage }) => {
  const provider = await providerWithRuntime(sample, "Reviewed Weather Ltd");
  const slug = uniqueSlug("reviewed");
  const pkg = await call(
    "POST",
    "/v1/providers/packages/manage",
    {
      appId: provider.app.id,
      name: "Reviewed Weather",
      slug,
      riskTier: "read_personal",
      capabilities: [WEATHER],
      description: "Forecasts for where you are, with highs, lows and conditions, refreshed every half hour.",
      category: "weather",
      images: { icon: "https://cdn.reviewed.example/icon.png", screenshots: ["https://cdn.reviewed.example/1.png"] },
      supportUrl: "https://reviewed.example/support",
      privacyPolicyUrl: "https://reviewed.example/privacy",
    },
    provider.idToken,
  );
  const versionId = pkg.versions[0].id as string;
  const base = `/v1/providers/packages/manage/${pkg.id}/versions/${versionId}`;
  const run = await call("POST", `${base}/validate?wait=true`, undefined, provider.idToken);
  expect(run.passed).toBe(true);
  await call("POST", `${base}/submit`, undefined, provider.idToken);
  await eventually(async () => (await call("GET", base, undefined, provider.idToken)).state === "in_review", 60_000, "the version to enter review");

  const reviewer = await createReviewer();
  const reviewerContext = await browser.newContext();
  const page = await reviewerContext.newPage();
  await test.step("the reviewer signs in and finds the review in the queue", async () => {
    await page.goto("/reviews");
    await page.getByLabel("E-mail").fill(reviewer.email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("heading", { name: "Review queue", level: 1 })).toBeVisible();
    await expect(page.getByRole("link", { name: "Review queue" })).toBeVisible();
    // The queue is oldest first and paginated: page on until the package shows up.
    const row = page.getByRole("row").filter({ hasText: slug });
    await eventually(
      async () => {
        if (await row.count()) return true;
        const next = page.getByRole("button", { name: "Next" });
        if ((await next.count()) && (await next.isEnabled())) await next.click();
        return false;
      },
      60_000,
      "the review in the queue",
    );
    await checkPage(page, "reviews");
    await row.getByRole("link", { name: "Reviewed Weather" }).click();
  });

  await test.step("claims it and approves it with a note", async () => {
    await expect(page.getByRole("heading", { name: /^Review: Reviewed Weather 1\.0\.0/ })).toBeVisible();
    await page.getByRole("button", { name: "Claim the review" }).click();
    await page.getByLabel("Notes to the provider (optional)").fill("Location use is clear from the listing.");
    await checkPage(page, "review-detail");
    await page.getByRole("button", { name: "Approve" }).click();
    await expect(page.getByText("The provider can publish it now.")).toBeVisible();
  });
  await reviewerContext.close();

  await test.step("the provider sees the approval and publishes", async () => {
    const providerContext = await browser.newContext();
    const providerPage = await providerContext.newPage();
    await providerPage.goto(`/packages/${pkg.id}/versions/${versionId}`);
    await providerPage.getByLabel("E-mail").fill(provider.email);
    await providerPage.getByLabel("Password").fill(PASSWORD);
    await providerPage.getByRole("button", { name: "Sign in" }).click();
    await expect(providerPage.getByRole("heading", { name: "Version 1.0.0", level: 1 })).toBeVisible();
    await expect(providerPage.getByText("Location use is clear from the listing.", { exact: true })).toBeVisible();
    await expect(providerPage.getByRole("heading", { name: "Submission and review" })).toBeVisible();
    await expect(providerPage.locator("dd").filter({ hasText: "approved by reviewer" })).toBeVisible();
    await checkPage(providerPage, "version-approved", { screenshot: false });
    // Providers never see the review queue.
    await expect(providerPage.getByRole("link", { name: "Review queue" })).toHaveCount(0);
    await providerPage.getByRole("button", { name: "Publish to the catalog" }).click();
    await expect(providerPage.getByText("Published: the version is live in the catalog.")).toBeVisible();
    await expect(providerPage.locator(".lead").getByText("published", { exact: true })).toBeVisible();
    await providerContext.close();
  });
});

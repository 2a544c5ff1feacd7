import { expect, test } from "./support/fixtures";
import { adminSdk, PASSWORD, recordQualityHistory, SAMPLE, type SampleProvider, startSampleProvider, uniqueEmail, uniqueSlug, verificationLink } from "./support/stack";

/**
 * The provider's whole story in the console, in one browser session: sign up, verify from the
 * e-mail's link, create an app and copy its secret, register the runtime, create a package,
 * validate it and read a finding, submit it, see it listed, run a sandbox scenario and read the
 * quality charts. Every page is checked for accessibility and for 375 and 1440 px on the way.
 */
let sample: SampleProvider;
test.beforeAll(async () => {
  sample = await startSampleProvider();
});
test.afterAll(async () => {
  await sample?.close();
});

test("a provider goes from sign-up to a listed package with quality charts", async ({ page, context, checkPage, allowConsoleErrors }) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  const email = uniqueEmail("console");
  const company = `Console Weather ${email.slice(8, 13)}`;
  const slug = uniqueSlug("console-weather");

  await test.step("sign up", async () => {
    await page.goto("/");
    await expect(page).toHaveURL(/\/signin/);
    await checkPage(page, "sign-in", { screenshot: "both" });
    await page.getByRole("link", { name: "Create a developer account" }).click();
    await page.getByLabel("Company name").fill(company);
    await page.getByLabel("E-mail").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await checkPage(page, "sign-up", { screenshot: false });
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByRole("heading", { name: "Overview", level: 1 })).toBeVisible();
    await expect(page.getByText("Verify your e-mail address.")).toBeVisible();
  });

  await test.step("verify from the e-mail's link", async () => {
    const link = new URL(await verificationLink(email));
    expect(link.pathname).toBe("/verify-email");
    // The link names the console's origin (CONSOLE_URL); a suite on moved ports serves it elsewhere.
    await page.goto(link.pathname + link.search);
    await expect(page.getByText(`${email} is verified`)).toBeVisible();
    await checkPage(page, "verify-email", { screenshot: false });
    // The link works once: opening it again shows the API's error with its request id.
    allowConsoleErrors(/Failed to load resource: the server responded with a status of 4\d\d/);
    await page.goto(link.pathname + link.search);
    const error = page.getByRole("alert");
    await expect(error).toContainText("This verification token was already used");
    await expect(error).toContainText("VERIFICATION_TOKEN_USED");
    await expect(error.getByTestId("request-id")).toHaveText(/^req_[0-9A-Za-z]{20}$/);
    await page.getByRole("link", { name: "Go to the console" }).click();
    await expect(page.getByText("Your account is active")).toBeVisible();
    await checkPage(page, "overview", { screenshot: "both" });
  });

  let appId = "";
  await test.step("create an app and copy its secret", async () => {
    await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Apps" }).click();
    await page.getByLabel("App name").fill("Console Weather");
    await page.getByRole("button", { name: "Create app" }).click();
    const secretBox = page.getByRole("region", { name: "Client secret" });
    await expect(secretBox).toContainText("shown only this once");
    const secret = (await secretBox.getByTestId("secret-value").textContent())!;
    expect(secret).toMatch(/^secret_/);
    await secretBox.getByRole("button", { name: "Copy client secret" }).click();
    await expect(secretBox.getByRole("button", { name: "Copied" })).toBeVisible();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    await checkPage(page, "apps-secret", { screenshot: false });
    await secretBox.getByRole("button", { name: "I have stored the secret" }).click();
    await expect(page.getByTestId("secret-value")).toHaveCount(0);
    await checkPage(page, "apps");
    await page.getByRole("link", { name: "Console Weather" }).click();
    appId = page.url().split("/apps/")[1]!;
    await expect(page.getByRole("heading", { name: "Console Weather", level: 1 })).toBeVisible();
    await checkPage(page, "app-detail");
  });

  await test.step("register the runtime: endpoint, auth profile, webhooks, health", async () => {
    await page.getByRole("link", { name: "Runtime" }).first().click();
    await expect(page).toHaveURL(new RegExp(`/runtime\\?app=${appId}`));
    await page.getByLabel("Endpoint URL").fill(sample.url);
    await page.getByRole("button", { name: "Register runtime" }).click();
    await expect(page.getByRole("heading", { name: "Endpoint and status" })).toBeVisible();

    await page.getByLabel("Header name").fill(SAMPLE.apiKeyHeader);
    await page.getByLabel("API key").fill(SAMPLE.apiKey);
    await page.getByRole("button", { name: "Save auth profile" }).click();
    await expect(page.getByText("Auth profile saved.")).toBeVisible();
    // Write-only: the key comes back masked, never in clear.
    await expect(page.getByLabel("masked secret")).not.toHaveText(SAMPLE.apiKey);
    await expect(page.locator("body")).not.toContainText(SAMPLE.apiKey);

    await page.getByLabel("Webhook URL").fill(`${sample.url}/webhooks`);
    await page.getByRole("button", { name: "Save webhook profile" }).click();
    await expect(page.getByRole("region", { name: "Webhook signing secret" })).toContainText("whsec_");
    await page.getByRole("button", { name: "Send a test delivery" }).click();
    const deliveries = page.getByRole("table", { name: "Webhook deliveries, newest first" });
    await expect(deliveries.getByRole("row").filter({ hasText: "webhook.test" })).toContainText("succeeded", { timeout: 60_000 });

    await page.getByRole("button", { name: "Probe health" }).click();
    await expect(page.getByRole("region", { name: "Health probe result" })).toContainText("healthy");
    await checkPage(page, "runtime");
  });

  let versionUrl = "";
  await test.step("create a package, validate it and read a finding next to its field", async () => {
    await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Packages" }).click();
    await checkPage(page, "packages-empty", { screenshot: false });
    await page.getByRole("link", { name: "Create a package" }).click();
    await page.getByLabel("Name", { exact: true }).fill("Console Weather");
    await page.getByLabel("Slug").fill(slug);
    await page.getByLabel("Description").fill("Seven-day forecasts with highs, lows and conditions for any city, refreshed every half hour.");
    await page.getByLabel("Category").selectOption("weather");
    await page.getByLabel("Support URL (optional)").fill("https://console-weather.example/support");
    await page.getByLabel("Privacy policy URL (optional)").fill("https://console-weather.example/privacy");
    // No icon: the listing rules will say so.
    await checkPage(page, "package-new");
    await page.getByRole("button", { name: "Create package" }).click();
    await expect(page.getByRole("heading", { name: "Version 1.0.0", level: 1 })).toBeVisible();
    versionUrl = page.url();

    await page.getByRole("button", { name: "Validate" }).click();
    await expect(page.getByLabel("Validation progress")).toBeVisible();
    const scores = page.getByRole("region", { name: "Conformance scores" });
    await expect(scores).toBeVisible({ timeout: 120_000 });
    for (const dimension of ["schema", "listing", "security", "reliability", "performance", "privacy"]) {
      await expect(scores.getByLabel(`${dimension} score`)).toBeVisible();
    }
    await expect(scores).toContainText("passed");
    const findings = page.getByRole("table", { name: /^Findings/ });
    const icon = findings.getByRole("row").filter({ hasText: "$.package.images.icon" });
    await expect(icon).toHaveCount(1);
    await expect(icon).toContainText("warning");
    await expect(icon.getByRole("cell").nth(1)).toHaveText(/^listing\.\w+/);
    await expect(icon.getByRole("cell").nth(3)).toHaveText("null");
    // Findings about the runtime sit next to the runtime's current value.
    await expect(findings.getByRole("row").filter({ hasText: "$.runtime.endpointUrl" }).getByRole("cell").nth(3)).toHaveText(JSON.stringify(sample.url));
    await checkPage(page, "package-validation", { screenshot: "both" });
  });

  await test.step("submit it and see it listed", async () => {
    await page.getByRole("button", { name: "Submit for review" }).click();
    await expect(page.locator(".lead").getByText("published", { exact: true })).toBeVisible({ timeout: 60_000 });
    await expect(page.getByRole("list").filter({ hasText: "by system" }).last()).toBeVisible();
    await page.getByRole("link", { name: "Packages" }).first().click();
    await page.getByRole("button", { name: "Published" }).click();
    const row = page.getByRole("row").filter({ hasText: slug });
    await expect(row).toContainText("published");
    await expect(row).toContainText("1.0.0");
    await checkPage(page, "packages");
  });

  await test.step("run a sandbox scenario and read its trace", async () => {
    await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Sandbox" }).click();
    await page.getByLabel("Capability").fill(`${slug}.weather_forecast`);
    await page.getByLabel("Scenario name").fill("Berlin, three days");
    await page.getByRole("button", { name: "Create scenario" }).click();
    await page.getByRole("button", { name: "Run Berlin, three days" }).click();
    const trace = page.getByRole("region", { name: /^Trace: Berlin, three days/ });
    await expect(trace).toContainText("passed");
    await expect(trace.getByRole("table", { name: "Assertion results" }).getByRole("row")).toHaveCount(4);
    await expect(trace.getByLabel("Request headers and body")).toContainText('"location": "Berlin"');
    await expect(trace.getByLabel("Response headers and body")).toContainText('"days"');
    await checkPage(page, "sandbox");
  });

  await test.step("read the quality charts", async () => {
    const account = (await adminSdk().db.collection("accounts").where("email", "==", email).get()).docs[0]!;
    const pkg = (await adminSdk().db.collection("packages").where("slug", "==", slug).get()).docs[0]!;
    const versionId = versionUrl.split("/versions/")[1]!;
    const recorded = await recordQualityHistory({ packageId: pkg.id, slug, capabilityId: "weather_forecast", versionId, accountId: account.id, appId });
    await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Quality" }).click();
    const capability = page.getByRole("article", { name: `${slug}.weather_forecast` });
    await expect(capability.getByText(String(recorded), { exact: true })).toBeVisible();
    for (const chart of ["Latency", "Error rate", "Availability"]) {
      const figure = capability.getByRole("figure", { name: `${chart} of ${slug}.weather_forecast` });
      await expect(figure.locator("canvas")).toBeVisible();
    }
    // The chart's data, as a table: one row per day of the 30-day window, the recorded days filled in.
    const latency = capability.getByRole("figure", { name: `Latency of ${slug}.weather_forecast` });
    await latency.getByText("the data as a table").click();
    const days = await latency.getByRole("region", { name: /: data$/ }).locator("tbody tr").evaluateAll((rows) => rows.map((r) => Array.from(r.querySelectorAll("td"), (td) => td.textContent ?? "")));
    expect(days.length).toBeGreaterThanOrEqual(30);
    const measured = days.filter((cells) => cells.every((v) => v !== "—")).map((cells) => cells.map(Number));
    expect(measured.length).toBeGreaterThanOrEqual(5);
    for (const [p50, p95, p99] of measured) expect(p50! <= p95! && p95! <= p99!, JSON.stringify(days)).toBe(true);
    await latency.getByText("the data as a table").click();
    await expect(page.getByRole("heading", { name: "Certification" })).toBeVisible();
    await page.getByLabel("Status").selectOption("active");
    await expect(page.getByText("No alerts match.")).toBeVisible();
    await checkPage(page, "quality", { screenshot: "both" });
  });

  await test.step("account: plan tier and rate-limit usage", async () => {
    await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Account" }).click();
    await expect(page.getByText("requests a minute per app")).toBeVisible();
    await expect(page.getByLabel("Requests used this minute")).toBeVisible();
    await page.getByLabel("Product news").uncheck();
    await page.getByRole("button", { name: "Save changes" }).click();
    await expect(page.getByText("Saved.")).toBeVisible();
    await checkPage(page, "account");
  });

  await test.step("sign out", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/signin/);
    await page.goto("/apps");
    await expect(page).toHaveURL(/\/signin\?next=%2Fapps/);
  });
});

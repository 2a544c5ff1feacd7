import { expect, test } from "./support/fixtures";
import { baseUrl, call, PASSWORD, passwordResetCode, uniqueEmail } from "./support/stack";

/**
 * Hosting serves the console at the API's origin: static files first, then the /v1 rewrites to the
 * functions, then the single-page app's fallback, which must never shadow an API path.
 */
test("over HTTP: API paths answer the API, every other path the console", async ({ request }) => {
  const unknownApi = await request.get("/v1/providers/nothing-here");
  expect(unknownApi.status()).toBe(404);
  expect(unknownApi.headers()["content-type"]).toMatch(/^application\/json/);
  expect((await unknownApi.json()).error).toEqual({ code: "NOT_FOUND", message: expect.any(String), requestId: expect.stringMatching(/^req_/) });
  const unknownV1 = await request.get("/v1/whatever/else");
  expect(unknownV1.status()).toBe(404);
  expect((await unknownV1.json()).error.code).toBe("NOT_FOUND");
  const openapi = await request.get("/v1/openapi.json");
  expect(openapi.status()).toBe(200);
  expect((await openapi.json()).paths["/v1/providers/apps/{id}/access-token"]).toBeDefined();

  for (const path of ["/", "/apps", "/packages/pkg_x/versions/ver_y", "/verify-email?token=vt_x", "/no/such/page"]) {
    const page = await request.get(path);
    expect(page.status(), path).toBe(200);
    expect(page.headers()["content-type"], path).toMatch(/^text\/html/);
    expect(await page.text(), path).toContain('<div id="root"></div>');
  }
  // The repository's static files are still served as they are.
  const robots = await request.get("/robots.txt");
  expect(robots.headers()["content-type"]).toMatch(/^text\/plain/);
  const schema = await request.get("/schemas/aiffinity.schema.json");
  expect(schema.headers()["content-type"]).toMatch(/^application\/json/);
  // Built assets are immutable (their names carry a hash); the page itself is always revalidated.
  const html = await (await request.get("/")).text();
  const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
  expect((await request.get(asset)).headers()["cache-control"]).toContain("immutable");
});

test("in the browser: deep links open the console, API paths stay JSON", async ({ page, checkPage, allowConsoleErrors }) => {
  await page.goto("/packages?status=published");
  await expect(page).toHaveURL(`${baseUrl()}/signin?next=%2Fpackages%3Fstatus%3Dpublished`);
  await page.goto("/no/such/page");
  await expect(page.getByRole("heading", { name: "Page not found", level: 1 })).toBeVisible();
  await checkPage(page, "not-found", { screenshot: false });

  allowConsoleErrors(/Failed to load resource: the server responded with a status of 404/);
  await page.goto("/v1/providers/nothing-here");
  await expect(page.locator("body")).toContainText('"code":"NOT_FOUND"');
  await expect(page.locator("#root")).toHaveCount(0);
});

test("a failed sign-in says why, and a forgotten password is reset from the e-mailed link", async ({ page, checkPage, allowConsoleErrors }) => {
  const email = uniqueEmail("forgetful");
  await call("POST", "/v1/providers/account", { company_name: "Forgetful Ltd", email, password: PASSWORD });
  allowConsoleErrors(/Failed to load resource: the server responded with a status of 400/);
  await page.goto("/signin");
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill("not-the-password-1");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("E-mail or password is incorrect.");

  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await page.getByLabel("E-mail").fill(email);
  await checkPage(page, "forgot-password", { screenshot: false });
  await page.getByRole("button", { name: "Send the reset link" }).click();
  await expect(page.getByText("a reset link is on its way")).toBeVisible();
  // Firebase Auth's e-mail action link, pointed at the console's handler.
  await page.goto(`/auth/action?mode=resetPassword&oobCode=${encodeURIComponent(await passwordResetCode(email))}`);
  await expect(page.getByText(`For ${email}`)).toBeVisible();
  await page.getByLabel("New password").fill("a-brand-new-secret-7");
  await checkPage(page, "reset-password", { screenshot: false });
  await page.getByRole("button", { name: "Save the new password" }).click();
  await page.getByRole("link", { name: "Sign in" }).click();
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill("a-brand-new-secret-7");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByText("Verify your e-mail address.")).toBeVisible();
});

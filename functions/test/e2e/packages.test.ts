import { adminDb } from "../helpers/admin";
import { completeListing, weatherForecast } from "../helpers/descriptors";
import { api, expectError, expectStatus, request } from "../helpers/http";
import { createPackage, MANAGE, packageBody, REVIEWS, uniqueSlug, versionPath } from "../helpers/packages";
import { createApp, login, reviewer, signUp, verifiedProvider } from "../helpers/stories";
import { expiredIdToken } from "../helpers/tokens";

describe("packages", () => {
  it("creates a package with its first version in draft", async () => {
    const { token, accountId } = await verifiedProvider();
    const app = await createApp(token);
    const body = packageBody(app.id, { version: "0.9.0", changelog: "First release" });
    const res = await api.post(MANAGE, body, { token });
    expectStatus(201, res);
    const pkg = res.body.data;
    expect(res.headers.get("location")).toBe(`${MANAGE}/${pkg.id}`);
    expect(pkg).toEqual({
      id: expect.stringMatching(/^pkg_[0-9A-Za-z]{20}$/),
      appId: app.id,
      name: "Acme Weather",
      slug: body.slug,
      description: completeListing().description,
      category: "weather",
      images: completeListing().images,
      privacyPolicyUrl: "https://acme.example/privacy",
      supportUrl: "https://acme.example/support",
      status: "draft",
      riskTier: "data_only",
      currentVersion: null,
      latestVersion: "0.9.0",
      installCount: 0,
      orphaned: false,
      catalogRemovalDueAt: null,
      deprecation: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      versions: [
        {
          id: expect.stringMatching(/^ver_[0-9A-Za-z]{20}$/),
          version: "0.9.0",
          state: "draft",
          riskTier: "data_only",
          changelog: "First release",
          capabilityCount: 1,
          validation: null,
          review: null,
          publishedAt: null,
          deprecation: null,
          history: [{ from: null, to: "draft", at: expect.any(String), actor: { type: "provider", id: accountId }, reason: "Version created" }],
          createdAt: expect.any(String),
          updatedAt: expect.any(String),
        },
      ],
    });
    const version = await api.get(versionPath(pkg.id, pkg.versions[0].id), { token });
    expectStatus(200, version);
    // Defaults are filled in and stored with the descriptor.
    expect(version.body.data.capabilities).toEqual([{ ...weatherForecast(), actions: [], scopes: [] }]);
    expect(version.body.data).toEqual(expect.objectContaining({ packageId: pkg.id, listing: null }));
    expect((await adminDb().collection("packageSlugs").doc(body.slug).get()).get("packageId")).toBe(pkg.id);
  });

  it("keeps slugs unique across the platform", async () => {
    const first = await verifiedProvider();
    const second = await verifiedProvider("Other Co");
    const slug = uniqueSlug("taken");
    await createPackage(first.token, (await createApp(first.token)).id, { slug });
    const again = await api.post(MANAGE, packageBody((await createApp(second.token)).id, { slug }), { token: second.token });
    expect(expectError(again, 409, "CONFLICT").message).toBe(`Slug '${slug}' is already taken`);
  });

  it("lists packages newest first, filtered by status, with pagination", async () => {
    const { token } = await verifiedProvider();
    const app = await createApp(token);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await createPackage(token, app.id, { name: `Package ${i}` })).id);
    const first = await api.get(`${MANAGE}?limit=2`, { token });
    expectStatus(200, first);
    expect(first.body.data.map((p: { id: string }) => p.id)).toEqual([ids[2], ids[1]]);
    expect(first.body.meta.pagination).toEqual({ total: 3, limit: 2, offset: 0, hasMore: true });
    expect(first.body.data[0]).not.toHaveProperty("versions");
    const rest = await api.get(`${MANAGE}?limit=2&offset=2`, { token });
    expect(rest.body.data.map((p: { id: string }) => p.id)).toEqual([ids[0]]);
    expect((await api.get(`${MANAGE}?status=draft`, { token })).body.meta.pagination.total).toBe(3);
    expect((await api.get(`${MANAGE}?status=published`, { token })).body.data).toEqual([]);
    for (const bad of ["status=live", "limit=0", "limit=101", "offset=-1"]) {
      expect(expectError(await api.get(`${MANAGE}?${bad}`, { token }), 400, "VALIDATION_ERROR").message).toMatch(/^query\.(status|limit|offset): /);
    }
  });

  it("updates metadata and listing images without touching the versions", async () => {
    const { token } = await verifiedProvider();
    const app = await createApp(token);
    const { id, versionId } = await createPackage(token, app.id);
    const res = await api.patch(
      `${MANAGE}/${id}`,
      { name: "Acme Forecasts", images: { screenshots: ["https://cdn.acme.example/2.png"] }, supportUrl: null },
      { token },
    );
    expectStatus(200, res);
    expect(res.body.data).toEqual(
      expect.objectContaining({
        name: "Acme Forecasts",
        images: { icon: completeListing().images.icon, screenshots: ["https://cdn.acme.example/2.png"] },
        supportUrl: null,
        description: completeListing().description,
      }),
    );
    expect(res.body.data.versions[0]).toEqual(
      expect.objectContaining({ id: versionId, state: "draft", history: [expect.objectContaining({ to: "draft" })] }),
    );

    const cases: [unknown, RegExp][] = [
      [{ images: { icon: "http://cdn.acme.example/i.png" } }, /^images\.icon: URL must use https/],
      [{ images: { screenshots: ["not a url"] } }, /^images\.screenshots\.0: Invalid URL/],
      [{ images: { banner: "https://x.example/b.png" } }, /^images\.banner: Unknown field/],
      [{ slug: "new-slug" }, /^slug: Field is read-only/],
      [{ riskTier: "financial" }, /^riskTier: Field is read-only/],
      [{ category: "casinos" }, /^category: Expected one of/],
      [{}, /Provide at least one field to update/],
    ];
    for (const [body, message] of cases) {
      expect(expectError(await api.patch(`${MANAGE}/${id}`, body, { token }), 400, "VALIDATION_ERROR").message).toMatch(message);
    }
  });

  it("moves a package to another of the account's apps, never to someone else's", async () => {
    const { token } = await verifiedProvider();
    const other = await verifiedProvider("Other Co");
    const app = await createApp(token);
    const second = await createApp(token, { name: "Second app" });
    const { id } = await createPackage(token, app.id);
    expectError(await api.patch(`${MANAGE}/${id}`, { appId: (await createApp(other.token)).id }, { token }), 404, "NOT_FOUND");
    const moved = await api.patch(`${MANAGE}/${id}`, { appId: second.id }, { token });
    expectStatus(200, moved);
    expect(moved.body.data.appId).toBe(second.id);
  });

  it("creates versions with increasing semantic versions and edits drafts", async () => {
    const { token } = await verifiedProvider();
    const app = await createApp(token);
    const { id, versionId } = await createPackage(token, app.id);
    const next = await api.post(`${MANAGE}/${id}/versions`, { capabilities: [weatherForecast()], riskTier: "read_personal" }, { token });
    expectStatus(201, next);
    expect(next.headers.get("location")).toBe(`${MANAGE}/${id}/versions/${next.body.data.id}`);
    expect(next.body.data).toEqual(expect.objectContaining({ version: "1.1.0", state: "draft", riskTier: "read_personal", changelog: null }));
    expect((await api.get(`${MANAGE}/${id}`, { token })).body.data).toEqual(
      expect.objectContaining({
        latestVersion: "1.1.0",
        riskTier: "read_personal",
        versions: [expect.objectContaining({ version: "1.1.0" }), expect.objectContaining({ version: "1.0.0" })],
      }),
    );
    const major = await api.post(`${MANAGE}/${id}/versions`, { capabilities: [weatherForecast()], version: "2.0.0" }, { token });
    expect(major.body.data.version).toBe("2.0.0");
    expect(
      expectError(await api.post(`${MANAGE}/${id}/versions`, { capabilities: [weatherForecast()], version: "1.5.0" }, { token }), 409, "CONFLICT")
        .message,
    ).toBe("Version 1.5.0 must be greater than the latest version, 2.0.0");
    expect(
      expectError(
        await api.post(`${MANAGE}/${id}/versions`, { capabilities: [weatherForecast()], version: "v3" }, { token }),
        400,
        "VALIDATION_ERROR",
      ).message,
    ).toMatch(/^version: Must be a semantic version/);

    const edited = await api.patch(
      versionPath(id, versionId),
      { capabilities: [weatherForecast({ deadlineMs: 2000 })], changelog: "Faster" },
      { token },
    );
    expectStatus(200, edited);
    expect(edited.body.data).toEqual(
      expect.objectContaining({ state: "draft", changelog: "Faster", capabilities: [expect.objectContaining({ deadlineMs: 2000 })] }),
    );
    expectError(await api.patch(versionPath(id, versionId), {}, { token }), 400, "VALIDATION_ERROR");
  });

  it("refuses accounts that have not verified their e-mail", async () => {
    const { email, password } = await signUp();
    const token = await login(email, password);
    const res = await api.post(MANAGE, packageBody("app_00000000000000000000"), { token });
    expectError(res, 403, "ACCOUNT_NOT_VERIFIED");
  });

  describe("bad input", () => {
    let token: string;
    let appId: string;
    beforeAll(async () => {
      token = (await verifiedProvider()).token;
      appId = (await createApp(token)).id;
    });

    it("answers malformed JSON with INVALID_JSON", async () => {
      const res = await api.post(MANAGE, undefined, { token, raw: '{"name": "x",', headers: { "content-type": "application/json" } });
      expectError(res, 400, "INVALID_JSON");
      const version = await api.post(`${MANAGE}/pkg_00000000000000000000/versions`, undefined, {
        token,
        raw: "{",
        headers: { "content-type": "application/json" },
      });
      expectError(version, 400, "INVALID_JSON");
    });

    it("names every missing required field", async () => {
      const error = expectError(await api.post(MANAGE, {}, { token }), 400, "VALIDATION_ERROR");
      expect(error.details!.map((d) => d.field)).toEqual(["appId", "name", "slug", "description", "riskTier", "capabilities"]);
      expect(error.message).toMatch(
        /^appId: Required; name: Required; slug: Required; description: Required; riskTier: Required; capabilities: Required$/,
      );
    });

    it.each([
      [{ name: 42 }, "name: Expected string, received number"],
      [{ riskTier: "dangerous" }, 'riskTier: Expected one of: "data_only", "read_personal", "write_actions", "financial"'],
      [{ slug: "Not A Slug" }, "slug: Must be lowercase letters and digits separated by single hyphens (URL-safe)"],
      [{ slug: "ab" }, "slug: String must contain at least 3 characters"],
      [{ capabilities: [] }, "capabilities: Array must contain at least 1 item"],
      [{ capabilities: "weather" }, "capabilities: Expected array, received string"],
      [
        { capabilities: [weatherForecast({ id: "Weather Forecast" })] },
        "capabilities.0.id: Must start with a lowercase letter and use lowercase letters, digits, '_', '.' or '-'",
      ],
      [{ capabilities: [weatherForecast({ deadlineMs: 60_000 })] }, "capabilities.0.deadlineMs: Number must be less than or equal to 10000"],
      [{ capabilities: [weatherForecast({ dataCategories: ["dna"] })] }, "capabilities.0.dataCategories.0: Expected one of:"],
      [{ capabilities: [weatherForecast({ inputSchema: "object" })] }, "capabilities.0.inputSchema: Expected record, received string"],
      [{ capabilities: [weatherForecast({ secret: true })] }, "capabilities.0.secret: Unknown field"],
      [{ installCount: 5 }, "installCount: Unknown field"],
      [{ images: { icon: "javascript:alert(1)" } }, "images.icon: URL must use https"],
      [{ appId: "app_123" }, "appId: Invalid format"],
    ])("rejects %j", async (override, message) => {
      const res = await api.post(MANAGE, packageBody(appId, override), { token });
      expect(expectError(res, 400, "VALIDATION_ERROR").message).toContain(message);
    });

    it("answers another account's app with 404", async () => {
      const other = await verifiedProvider("Other Co");
      const foreign = await createApp(other.token);
      expect(expectError(await api.post(MANAGE, packageBody(foreign.id), { token }), 404, "NOT_FOUND").message).toBe(
        `No app with id '${foreign.id}'`,
      );
    });

    it("answers malformed ids with 404", async () => {
      expectError(await api.get(`${MANAGE}/not-an-id`, { token }), 404, "NOT_FOUND");
      expectError(await api.get(`${MANAGE}/pkg_00000000000000000000/versions/nope`, { token }), 404, "NOT_FOUND");
    });
  });

  describe("isolation", () => {
    it("gives another account 404 on every route of a package, and changes nothing", async () => {
      const owner = await verifiedProvider("Owner Co");
      const intruder = await verifiedProvider("Intruder Co");
      const { id, versionId } = await createPackage(owner.token, (await createApp(owner.token)).id);
      const { id: intruderPackage } = await createPackage(intruder.token, (await createApp(intruder.token)).id);
      const v = versionPath(id, versionId);
      const run = `${v}/validations/run_00000000000000000000`;
      const attempts: [string, string, unknown][] = [
        ["GET", `${MANAGE}/${id}`, undefined],
        ["PATCH", `${MANAGE}/${id}`, { name: "pwned" }],
        ["POST", `${MANAGE}/${id}/deprecate`, { reason: "pwned" }],
        ["POST", `${MANAGE}/${id}/versions`, { capabilities: [weatherForecast()] }],
        ["GET", v, undefined],
        ["PATCH", v, { changelog: "pwned" }],
        ["POST", `${v}/validate`, undefined],
        ["GET", `${v}/validations`, undefined],
        ["GET", run, undefined],
        ["POST", `${v}/submit`, undefined],
        ["POST", `${v}/publish`, undefined],
        ["POST", `${v}/rollback`, {}],
        ["POST", `${v}/deprecate`, { reason: "pwned" }],
      ];
      for (const [method, path, body] of attempts) {
        expectError(await request(method, path, { token: intruder.token, body }), 404, "NOT_FOUND");
      }
      // Naming someone else's package as a successor is the same as naming a missing one.
      expectError(
        await api.post(`${MANAGE}/${intruderPackage}/deprecate`, { reason: "x", successorPackageId: id }, { token: intruder.token }),
        404,
        "NOT_FOUND",
      );
      expect((await api.get(`${MANAGE}`, { token: intruder.token })).body.data.map((p: { id: string }) => p.id)).toEqual([intruderPackage]);
      const untouched = (await api.get(`${MANAGE}/${id}`, { token: owner.token })).body.data;
      expect(untouched).toEqual(expect.objectContaining({ name: "Acme Weather", status: "draft", latestVersion: "1.0.0" }));
      expect(untouched.versions[0]).toEqual(expect.objectContaining({ state: "draft", changelog: null, validation: null }));
    });
  });

  describe("authentication", () => {
    const pkg = "pkg_00000000000000000000";
    const ver = "ver_00000000000000000000";
    const routes: [string, string, unknown][] = [
      ["POST", MANAGE, {}],
      ["GET", MANAGE, undefined],
      ["GET", `${MANAGE}/${pkg}`, undefined],
      ["PATCH", `${MANAGE}/${pkg}`, { name: "x" }],
      ["POST", `${MANAGE}/${pkg}/deprecate`, { reason: "x" }],
      ["POST", `${MANAGE}/${pkg}/versions`, {}],
      ["GET", versionPath(pkg, ver), undefined],
      ["PATCH", versionPath(pkg, ver), { changelog: "x" }],
      ["POST", `${versionPath(pkg, ver)}/validate`, undefined],
      ["GET", `${versionPath(pkg, ver)}/validations`, undefined],
      ["GET", `${versionPath(pkg, ver)}/validations/run_00000000000000000000`, undefined],
      ["POST", `${versionPath(pkg, ver)}/submit`, undefined],
      ["POST", `${versionPath(pkg, ver)}/publish`, undefined],
      ["POST", `${versionPath(pkg, ver)}/rollback`, {}],
      ["POST", `${versionPath(pkg, ver)}/deprecate`, { reason: "x" }],
      ["GET", REVIEWS, undefined],
      ["GET", `${REVIEWS}/rev_00000000000000000000`, undefined],
      ["POST", `${REVIEWS}/rev_00000000000000000000/claim`, undefined],
      ["POST", `${REVIEWS}/rev_00000000000000000000/approve`, {}],
      ["POST", `${REVIEWS}/rev_00000000000000000000/reject`, { reasons: [{ message: "x" }] }],
    ];

    it("answers a missing, malformed or expired token with 401 on every route", async () => {
      const { token } = await verifiedProvider();
      const expired = expiredIdToken(token);
      for (const [method, path, body] of routes) {
        expectError(await request(method, path, { body }), 401, "UNAUTHENTICATED");
        expectError(await request(method, path, { body, token: "not-a-jwt" }), 401, "UNAUTHENTICATED");
        expect(expectError(await request(method, path, { body, token: expired }), 401, "UNAUTHENTICATED").message).toMatch(/expired/);
      }
    });

    it("keeps reviewers out of provider routes without an account, and providers out of reviewer routes", async () => {
      const { token } = await verifiedProvider();
      for (const [method, path, body] of routes.filter(([, p]) => p.startsWith(REVIEWS))) {
        expect(expectError(await request(method, path, { body, token }), 403, "FORBIDDEN").message).toBe(
          "Reviewer routes need an account with the reviewer role",
        );
      }
      const { token: reviewerToken } = await reviewer();
      expectError(await api.get(MANAGE, { token: reviewerToken }), 403, "FORBIDDEN");
    });
  });
});

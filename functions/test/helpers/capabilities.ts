import { weatherForecast } from "./descriptors";
import { api, expectStatus } from "./http";
import { createPackage, packageProvider, queuedReview, REVIEWS, validate, versionInState, versionPath } from "./packages";
import type { SampleProvider } from "./sampleProvider";

export const CAPABILITIES = "/v1/providers/capabilities";
export const capabilityPath = (ref: string, what: "invoke" | "state" | "action" | "history" | "realtime") => `${CAPABILITIES}/${ref}/${what}`;

/** A write_actions capability matching the sample runtime's task_list and its create_task action. */
export const taskList = (overrides: Record<string, unknown> = {}) => ({
  id: "task_list",
  name: "Task list",
  description: "Your open tasks, and a quick way to add one.",
  inputSchema: { type: "object", properties: {}, additionalProperties: false },
  outputSchema: {
    type: "object",
    required: ["tasks"],
    properties: {
      tasks: {
        type: "array",
        items: {
          type: "object",
          required: ["id", "title", "done"],
          properties: { id: { type: "string" }, title: { type: "string" }, done: { type: "boolean" } },
        },
      },
    },
  },
  refreshIntervalSeconds: 300,
  deadlineMs: 3000,
  sampleInput: {},
  actions: [
    {
      id: "create_task",
      name: "Create a task",
      description: "Adds a task to the list.",
      inputSchema: { type: "object", properties: { title: { type: "string", minLength: 1 } }, required: ["title"], additionalProperties: false },
      scopes: ["write:tasks"],
    },
  ],
  dataCategories: ["activity"],
  scopes: ["read:tasks"],
  ...overrides,
});

export interface PublishedCapability {
  token: string;
  accountId: string;
  app: { id: string; client_id: string; client_secret: string };
  /** OAuth access token of the app (the Capabilities API's credentials). */
  access: string;
  runtimeAppId: string;
  packageId: string;
  versionId: string;
  slug: string;
  /** `<slug>.<capabilityId>` */
  ref: string;
  capabilityId: string;
}

/**
 * A provider whose runtime is `provider`, with a data_only weather package taken through the real
 * pipeline (validated against the runtime, submitted, listed automatically): the published version
 * production invocations use.
 */
export async function publishedWeather(
  provider: SampleProvider,
  descriptor: Record<string, unknown> = {},
  company = "Sunny Data Ltd",
): Promise<PublishedCapability> {
  const dev = await packageProvider(provider, company);
  const { id, versionId, pkg } = await createPackage(dev.token, dev.app.id, { capabilities: [weatherForecast(descriptor)] });
  const run = await validate(dev.token, id, versionId);
  if (!run.passed) throw new Error(`validation failed: ${JSON.stringify(run.findings)}`);
  expectStatus(202, await api.post(`${versionPath(id, versionId)}/submit`, undefined, { token: dev.token }));
  await versionInState(dev.token, id, versionId, "published");
  return published(dev, id, versionId, pkg.slug, "weather_forecast");
}

/** A write_actions task package, reviewed (claimed and approved by `reviewerToken`) and published. */
export async function publishedTasks(provider: SampleProvider, reviewerToken: string, company = "Tidy Tasks Ltd"): Promise<PublishedCapability> {
  const dev = await packageProvider(provider, company);
  const { id, versionId, pkg } = await createPackage(dev.token, dev.app.id, {
    name: "Tidy Tasks",
    category: "productivity",
    riskTier: "write_actions",
    capabilities: [taskList()],
  });
  const run = await validate(dev.token, id, versionId);
  if (!run.passed) throw new Error(`validation failed: ${JSON.stringify(run.findings)}`);
  expectStatus(202, await api.post(`${versionPath(id, versionId)}/submit`, undefined, { token: dev.token }));
  const review = await queuedReview(reviewerToken, versionId);
  expectStatus(200, await api.post(`${REVIEWS}/${review.id}/claim`, undefined, { token: reviewerToken }));
  expectStatus(200, await api.post(`${REVIEWS}/${review.id}/approve`, {}, { token: reviewerToken }));
  expectStatus(200, await api.post(`${versionPath(id, versionId)}/publish`, undefined, { token: dev.token }));
  await versionInState(dev.token, id, versionId, "published");
  return published(dev, id, versionId, pkg.slug, "task_list");
}

const published = (
  dev: Awaited<ReturnType<typeof packageProvider>>,
  packageId: string,
  versionId: string,
  slug: string,
  capabilityId: string,
): PublishedCapability => ({
  token: dev.token,
  accountId: dev.accountId,
  app: dev.app,
  access: dev.runtime!.access,
  runtimeAppId: dev.runtime!.runtimeAppId,
  packageId,
  versionId,
  slug,
  ref: `${slug}.${capabilityId}`,
  capabilityId,
});

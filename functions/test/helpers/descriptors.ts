/**
 * Capability descriptors and listing metadata for package tests. `weatherForecast` matches the
 * sample runtime's weather_forecast capability, so probes of it succeed.
 */
export const weatherForecast = (overrides: Record<string, unknown> = {}) => ({
  id: "weather_forecast",
  name: "Weather forecast",
  description: "Daily highs, lows and conditions for a location.",
  inputSchema: {
    type: "object",
    properties: { location: { type: "string", minLength: 1 }, days: { type: "integer", minimum: 1, maximum: 7 } },
    required: ["location"],
    additionalProperties: false,
  },
  outputSchema: {
    type: "object",
    required: ["location", "days"],
    properties: {
      location: { type: "string" },
      days: {
        type: "array",
        items: {
          type: "object",
          required: ["date", "highC", "lowC", "condition"],
          properties: {
            date: { type: "string", format: "date" },
            highC: { type: "number" },
            lowC: { type: "number" },
            condition: { type: "string" },
          },
        },
      },
    },
  },
  refreshIntervalSeconds: 1800,
  deadlineMs: 3000,
  sampleInput: { location: "Berlin", days: 3 },
  dataCategories: ["public"],
  ...overrides,
});

/** Listing metadata that satisfies every listing rule. */
export const completeListing = () => ({
  description: "Seven-day forecasts with highs, lows and conditions for any city, refreshed every half hour.",
  category: "weather",
  images: { icon: "https://cdn.acme.example/icon.png", screenshots: ["https://cdn.acme.example/shot-1.png"] },
  supportUrl: "https://acme.example/support",
  privacyPolicyUrl: "https://acme.example/privacy",
});

/** Matches the sample runtime's task_list capability; refreshed on demand only. */
export const taskList = (overrides: Record<string, unknown> = {}) => ({
  id: "task_list",
  name: "Task list",
  description: "Your open tasks, newest last.",
  inputSchema: { type: "object", properties: {}, additionalProperties: false },
  outputSchema: { type: "object", required: ["tasks"], properties: { tasks: { type: "array", items: { type: "object" } } } },
  refreshIntervalSeconds: 0,
  deadlineMs: 3000,
  sampleInput: {},
  dataCategories: ["public"],
  ...overrides,
});

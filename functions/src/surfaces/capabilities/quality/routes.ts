import { oauthApp } from "../../../domain/accounts/principals";
import { type AnyRoute, listRoute } from "../../../kernel/http/route";
import { AlertOut, AlertsQuery, BaselineOut, BaselinesQuery, CertificationOut, CertificationQuery } from "./schemas";
import { QualityService } from "./service";

const tags = ["Provider Capabilities: Certification"];

/**
 * The Certification routes of the Capabilities API (docs/quality.md). Their first segments are
 * fixed words without a dot, so they never collide with `/v1/providers/capabilities/:id/...`.
 */
export function qualityRoutes(service = new QualityService()): AnyRoute[] {
  return [
    listRoute({
      method: "get",
      operationId: "listCertifications",
      path: "/v1/providers/capabilities/certification",
      summary: "Certification of your published packages",
      description:
        "For each package of your app with a version in the catalog: the overall score, the six conformance dimensions (reliability and performance refreshed with the last 30 days of invocations), " +
        "the tier (`certified`, `warning`, `revoked`), the reasons for it, and the latest tier changes. Supports `?packageId`, `?tier`, `?limit` and `?offset`.",
      tags,
      auth: oauthApp,
      query: CertificationQuery,
      response: CertificationOut,
      errors: ["FORBIDDEN"],
      handler: async ({ principal, query }) => service.certification(principal, query),
    }),
    listRoute({
      method: "get",
      operationId: "listBaselines",
      path: "/v1/providers/capabilities/baselines",
      summary: "Performance baselines of your capabilities",
      description:
        "Per capability of your app's published packages, over the 30 days ending at the start of the current hour: p50, p95 and p99 latency of successful invocations (within 1%), " +
        "error rate and availability. Computed from hourly and daily rollups, never from raw invocations. Supports `?capability`, `?packageId`, `?limit` and `?offset`.",
      tags,
      auth: oauthApp,
      query: BaselinesQuery,
      response: BaselineOut,
      errors: ["FORBIDDEN"],
      handler: async ({ principal, query }) => service.baselines(principal, query),
    }),
    listRoute({
      method: "get",
      operationId: "listQualityAlerts",
      path: "/v1/providers/capabilities/alerts",
      summary: "Quality alerts",
      description:
        "Active and resolved alerts on your app's capabilities, newest first. An alert opens when a metric of a 15-minute window crosses its threshold (docs/quality.md#alert-rules), " +
        "stays the same alert while active, and resolves when the metric recovers. Supports `?status` (`active`, `resolved`), `?severity` (`info`, `warning`, `critical`), `?limit` and `?offset`.",
      tags,
      auth: oauthApp,
      query: AlertsQuery,
      response: AlertOut,
      errors: ["FORBIDDEN"],
      handler: async ({ principal, query }) => service.alerts(principal, query),
    }),
  ];
}

import { z } from "zod";
import { ERROR_CATALOGUE, type ErrorCode } from "../errors";

/** ISO 8601 UTC, the only time format the API answers with. */
export const IsoDate = z.iso.datetime();
export const iso = (date: Date) => date.toISOString();
export const isoOrNull = (date: Date | null | undefined) => (date ? date.toISOString() : null);

/** Schemas of the response envelope from the API reference; the OpenAPI document uses them too. */
const Meta = z.object({ requestId: z.string().meta({ example: "req_abc123def456" }) });

const Pagination = z
  .object({
    total: z.number().int().min(0),
    limit: z.number().int().min(1),
    offset: z.number().int().min(0),
    hasMore: z.boolean(),
  })
  .meta({ id: "Pagination" });

const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as [ErrorCode, ...ErrorCode[]];

/** The error envelope (docs/errors.md). Named ApiError: `Error` would shadow the global in generated clients. */
export const ErrorBody = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES).meta({ description: "Stable: branch on it (docs/errors.md lists every code).", example: "VALIDATION_ERROR" }),
      message: z.string().meta({ example: "name: String must contain at least 1 character" }),
      requestId: z.string(),
      details: z
        .array(z.object({ field: z.string(), message: z.string(), code: z.string().optional() }))
        .optional()
        .meta({ description: "One entry per offending field (validation errors only)." }),
    }),
  })
  .meta({ id: "ApiError" });

export const single = <T extends z.ZodType>(data: T) => z.object({ data, meta: Meta });
export const list = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), meta: Meta.extend({ pagination: Pagination }) });

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export const paginationMeta = (page: Page<unknown>) => ({
  total: page.total,
  limit: page.limit,
  offset: page.offset,
  hasMore: page.offset + page.items.length < page.total,
});

/** `?limit` (1–100, default 20) and `?offset` (0–10,000, default 0). */
export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20).meta({ description: "Page size (1–100)." }),
  offset: z.coerce.number().int().min(0).max(10_000).default(0).meta({ description: "Items to skip (0–10,000)." }),
});
export type PageQuery = z.output<typeof PageQuery>;

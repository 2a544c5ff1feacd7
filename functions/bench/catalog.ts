import { randomInt } from "node:crypto";
import { mapLimit } from "../src/kernel/concurrency";
import { newId } from "../src/kernel/crypto";
import { type CatalogListingDoc, listingFlags, searchFieldsOf } from "../src/domain/catalog/listing";
import { CATEGORIES } from "../src/domain/packages/descriptor";
import { adminDb } from "../test/helpers/admin";
import { endUser, INSTALLS, MARKETPLACE } from "../test/helpers/catalog";
import { api, expectStatus } from "../test/helpers/http";
import { startSurfaceProcesses, stopSurfaceProcesses } from "../test/helpers/surfaceProcesses";
import { type Benchmark, type BenchResult, round, summarize } from "./harness";

/**
 * Catalog browse and search latency as the catalog grows: listings are seeded directly on the
 * emulator (batched writes, with the search fields and flags a publish computes) up to 1,000, then
 * up to 10,000, and every kind of query is timed at each size. The catalog surface is served from
 * lib/ in a process of its own with the rate limit off (one end user would hit 100 requests a
 * minute), against the Firestore emulator. Browse and search are answered from the instance's
 * in-memory read model (surfaces/catalog/listingIndex.ts); Firestore only serves the page's counters
 * and the user's installs. Baseline: the user's (empty) installs list, interleaved with every query.
 */
const SIZES = [1_000, 10_000];
/** Samples of each kind of query: SAMPLES, or as many as BUDGET_MS allows (at least MIN_SAMPLES); the emulator's scans make searches of 10,000 listings slow. */
const SAMPLES = 30;
const MIN_SAMPLES = 5;
const BUDGET_MS = 45_000;

const VOCABULARY = (
  "weather forecast radar rain snow wind tide surf météo pollen air quality sunrise " +
  "tasks todo notes calendar agenda meeting reminder habit focus timer pomodoro journal " +
  "news headlines sport football tennis cycling scores league transfer podcast radio " +
  "finance budget expenses stocks crypto invoices savings bank currency exchange tax " +
  "health fitness steps sleep heart running yoga workout nutrition water calories " +
  "travel flights trains hotels maps transit parking fuel charging traffic commute " +
  "food recipes restaurants café coffee crème groceries delivery wine cocktail bakery " +
  "music concerts movies series books comics games trivia quiz crossword chess " +
  "shopping deals coupons prices wishlist parcels tracking returns fashion sneakers " +
  "learning language vocabulary flashcards math science history coding courses " +
  "home lights thermostat energy solar garden plants pets cleaning laundry straße"
).split(" ");
const PROVIDERS = ["Sunny Data", "Nordlicht", "Acme", "Kōbō Labs", "Orbit", "Blue Fern", "Metrix", "Ça Va Studio", "Tidewell", "Hearth & Co"];

const pick = <T>(items: readonly T[]) => items[randomInt(items.length)]!;
const phrase = (n: number) => Array.from({ length: n }, () => pick(VOCABULARY)).join(" ");
const title = (s: string) => s.replace(/(^|\s)\S/g, (c) => c.toUpperCase());

function listing(now: Date): CatalogListingDoc {
  const packageId = newId("pkg");
  const base = {
    packageId,
    accountId: "bench-account",
    appId: "bench-app",
    slug: `bench-${packageId.slice(4).toLowerCase()}`,
    name: title(phrase(1 + randomInt(3))),
    description: `${title(phrase(8 + randomInt(20)))}.`,
    category: pick(CATEGORIES),
    images: { icon: null, screenshots: [] },
    privacyPolicyUrl: null,
    supportUrl: null,
    providerName: `${pick(PROVIDERS)} ${pick(["Ltd", "GmbH", "SARL", "Inc"])}`,
    currentVersionId: newId("ver"),
    currentVersion: "1.0.0",
    riskTier: "data_only",
    capabilities: Array.from({ length: 1 + randomInt(3) }, (_, i) => ({
      id: `cap_${i}`,
      name: title(phrase(2)),
      description: "",
      refreshIntervalSeconds: 1800,
      dataCategories: ["public"],
      actions: [],
    })),
    dataCategories: ["public"],
  };
  const facts = { deprecated: randomInt(50) === 0, orphaned: randomInt(100) === 0, certificationTier: "certified" as const };
  const publishedAt = new Date(now.getTime() - randomInt(365 * 86_400_000));
  return {
    ...base,
    installCount: Math.floor(10 ** (Math.random() * 5)),
    ratingAverage: null,
    ratingCount: 0,
    ratingScore: randomInt(3) === 0 ? 0 : 1 + Math.random() * 4,
    countersReadAt: null,
    publishedAt,
    versionPublishedAt: publishedAt,
    updatedAt: now,
    ...facts,
    successorPackageId: null,
    ...listingFlags(facts),
    ...searchFieldsOf(base),
  };
}

/** Listings per batched write, and batches in flight: big parallel seeding timed out on the emulator (DEADLINE_EXCEEDED). */
const SEED_BATCH = 400;
const SEED_PARALLEL = 4;

async function seed(count: number, names: string[]): Promise<number> {
  const started = performance.now();
  const now = new Date();
  const batches = Array.from({ length: Math.ceil(count / SEED_BATCH) }, (_, b) => Math.min(SEED_BATCH, count - b * SEED_BATCH));
  await mapLimit(batches, SEED_PARALLEL, async (size) => {
    const batch = adminDb().batch();
    for (let i = 0; i < size; i++) {
      const doc = listing(now);
      names.push(doc.name);
      batch.set(adminDb().collection("catalogListings").doc(doc.packageId), doc);
    }
    await batch.commit();
  });
  return performance.now() - started;
}

type Query = () => Record<string, string>;

export const catalogBenchmark: Benchmark = {
  name: "catalog",
  async run(): Promise<BenchResult[]> {
    const [server] = await startSurfaceProcesses(1, { surface: "catalog", limits: false, meter: true });
    const { token } = await endUser();
    const names: string[] = [];
    const get = async (path: string) => {
      const started = performance.now();
      const res = await api.get(path, { token, baseUrl: server!.url });
      expectStatus(200, res);
      // FIRESTORE_METER=1 in the process: what the request cost in Firestore (no limiter: its reads only).
      const reads = Number(/reads=(\d+)/.exec(res.headers.get("x-firestore-ops") ?? "")?.[1] ?? NaN);
      return { ms: performance.now() - started, total: res.body.meta.pagination.total as number, reads };
    };
    const queries: Record<string, Query> = {
      "browse popular": () => ({}),
      "browse recent, category": () => ({ sort: "recent", category: pick(CATEGORIES) }),
      "browse rating, page 5": () => ({ sort: "rating", offset: "80" }),
      "search 1 word (relevance)": () => ({ q: pick(VOCABULARY) }),
      "search 3-letter prefix (relevance)": () => ({ q: pick(VOCABULARY).slice(0, 3) }),
      "search 1 word, category, popular": () => ({ q: pick(VOCABULARY), category: pick(CATEGORIES), sort: "popular" }),
      "search 2 words of a name": () => ({
        q: pick(names.filter((n) => n.includes(" ")))
          .split(" ")
          .slice(0, 2)
          .join(" "),
      }),
      "search 2 common words (relevance)": () => ({ q: `${pick(VOCABULARY)} ${pick(VOCABULARY)}` }),
    };
    const results: BenchResult[] = [];
    /** Per kind: [size] → { p50, p95, normalised p50 (÷ its interleaved baseline's p50) }. */
    const bySize = new Map<string, { p50: number; p95: number; norm: number }[]>();
    try {
      let seeded = 0;
      for (const size of SIZES) {
        const seedMs = await seed(size - seeded, names);
        seeded = size;
        for (let i = 0; i < 3; i++) await get(`/v1/space/marketplace?q=${encodeURIComponent(pick(VOCABULARY))}`); // warm-up
        results.push({ name: `${size} listings seeded`, metrics: { seed_ms: round(seedMs, 0) } });
        for (const [label, query] of Object.entries(queries)) {
          // Each query is interleaved with the baseline, so both see the same load on the machine
          // (other processes share it): the normalised ratios cancel what the machine did meanwhile.
          const samples: number[] = [];
          const base: number[] = [];
          const totals: number[] = [];
          const reads: number[] = [];
          const started = performance.now();
          for (let i = 0; i < SAMPLES && (i < MIN_SAMPLES || performance.now() - started < BUDGET_MS); i++) {
            base.push((await get(INSTALLS)).ms);
            const { ms, total, reads: r } = await get(`${MARKETPLACE}?${new URLSearchParams(query())}`);
            samples.push(ms);
            totals.push(total);
            reads.push(r);
          }
          const [s, b] = [summarize(samples), summarize(base)];
          bySize.set(label, [...(bySize.get(label) ?? []), { p50: s.p50, p95: s.p95, norm: s.p50 / b.p50 }]);
          results.push({
            name: `${size} listings: ${label}`,
            metrics: {
              n: s.n,
              p50_ms: s.p50,
              p95_ms: s.p95,
              baseline_p50_ms: b.p50,
              p50_vs_baseline: round(s.p50 / b.p50, 2),
              median_matches: summarize(totals).p50,
              firestore_reads_p50: summarize(reads).p50,
            },
          });
        }
      }
      const browse = bySize.get("browse popular")!;
      for (const [label, [small, large]] of bySize) {
        results.push({
          name: `10k/1k: ${label}`,
          metrics: {
            p50_ratio: round(large!.p50 / small!.p50, 2),
            p95_ratio: round(large!.p95 / small!.p95, 2),
            p50_ratio_normalised: round(large!.norm / small!.norm, 2),
            p50_vs_browse_at_10k: round(large!.p50 / browse[1]!.p50, 2),
            p50_vs_browse_at_10k_normalised: round(large!.norm / browse[1]!.norm, 2),
          },
          note: label.startsWith("search")
            ? "targets: 10k/1k p50 ≤ 1.3 and ≤ 2 × browse at 10k (normalised: each p50 ÷ the baseline interleaved with it)"
            : undefined,
        });
      }
      return results;
    } finally {
      stopSurfaceProcesses([server!]);
    }
  },
};

import { randomBytes, randomInt } from "node:crypto";
import { newId } from "../../src/kernel/crypto";
import { type CatalogListingDoc, type CertificationTier, listingFlags, searchFieldsOf } from "../../src/domain/catalog/listing";
import { adminAuth, adminDb } from "./admin";
import { api, type ApiResponse, expectStatus } from "./http";
import { PASSWORD, signInDirect, uniqueEmail } from "./stories";

export const MARKETPLACE = "/v1/space/marketplace";
export const INSTALLS = "/v1/space/installs";

/** An end user of the Aiffinity apps: a plain Firebase user, without a developer account. */
export async function endUser(): Promise<{ uid: string; token: string }> {
  const email = uniqueEmail("user");
  const { uid } = await adminAuth().createUser({ email, password: PASSWORD, emailVerified: true });
  return { uid, token: await signInDirect(email) };
}

/** A word no other test uses: letters only, so that it is one search term. */
export const uniqueWord = (length = 10) => Array.from({ length }, () => "bcdfghjklmnpqrstvwxz"[randomInt(20)]).join("");

export const marketplace = (token: string, params: Record<string, string | number> = {}) =>
  api.get(`${MARKETPLACE}?${new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]))}`, { token });

/** The ids of a listing page, asserting it answered 200. */
export function idsOf(res: ApiResponse): string[] {
  expectStatus(200, res);
  return res.body.data.map((l: { id: string }) => l.id);
}

/** Every page of a marketplace query, in order. */
export async function allListings(token: string, params: Record<string, string | number> = {}): Promise<{ id: string; [key: string]: unknown }[]> {
  const out = [];
  for (let offset = 0; ; offset += 100) {
    const res = await marketplace(token, { ...params, limit: 100, offset });
    expectStatus(200, res);
    out.push(...res.body.data);
    if (!res.body.meta.pagination.hasMore) return out;
  }
}

export interface SeedListing {
  name: string;
  providerName?: string;
  description?: string;
  capabilityNames?: string[];
  category?: string;
  installCount?: number;
  ratingScore?: number;
  publishedAt?: Date;
  deprecated?: boolean;
  orphaned?: boolean;
  certificationTier?: CertificationTier;
}

/**
 * Writes a catalog listing directly (for browse and search tests that need many listings with
 * chosen sort keys), with the search fields and flags computed by the same code as a publish.
 * Such listings cannot be installed (they have no package behind them).
 */
export async function seedListing(seed: SeedListing): Promise<string> {
  const packageId = newId("pkg");
  const now = new Date();
  const base = {
    packageId,
    accountId: "seed-account",
    appId: newId("app"),
    slug: `seed-${randomBytes(5).toString("hex")}`,
    name: seed.name,
    description: seed.description ?? "A listing seeded for catalog tests, with a long enough description.",
    category: seed.category ?? "weather",
    images: { icon: null, screenshots: [] },
    privacyPolicyUrl: "https://seed.example/privacy",
    supportUrl: null,
    providerName: seed.providerName ?? "Seed Provider",
    currentVersionId: newId("ver"),
    currentVersion: "1.0.0",
    riskTier: "data_only",
    capabilities: (seed.capabilityNames ?? ["Data feed"]).map((name, i) => ({
      id: `cap_${i}`,
      name,
      description: "",
      refreshIntervalSeconds: 1800,
      dataCategories: ["public"],
      actions: [],
    })),
    dataCategories: ["public"],
  };
  const facts = {
    deprecated: seed.deprecated ?? false,
    orphaned: seed.orphaned ?? false,
    certificationTier: seed.certificationTier ?? ("certified" as const),
  };
  const doc: CatalogListingDoc = {
    ...base,
    installCount: seed.installCount ?? 0,
    ratingAverage: null,
    ratingCount: 0,
    ratingScore: seed.ratingScore ?? 0,
    countersReadAt: null,
    publishedAt: seed.publishedAt ?? now,
    versionPublishedAt: seed.publishedAt ?? now,
    updatedAt: now,
    ...facts,
    successorPackageId: null,
    ...listingFlags(facts),
    ...searchFieldsOf(base),
  };
  await adminDb().collection("catalogListings").doc(packageId).set(doc);
  return packageId;
}

import type { Account } from "../accounts/account";
import { type Finding, finding } from "./rules";
import { sortFindings } from "./suite";
import type { CapabilityDescriptor } from "../packages/descriptor";
import type { ListingMetadata, Package } from "../packages/package";

/** Terms only Aiffinity may use in a package's name or slug. */
const RESERVED_TERMS = ["aiffinity", "official", "verified", "admin", "system"];
/** Content the catalog does not list (docs/conformance.md#automated-policy-checks). */
const PROHIBITED_TERMS = [
  "casino",
  "gambling",
  "betting",
  "porn",
  "xxx",
  "escort",
  "firearm",
  "firearms",
  "ammunition",
  "weapon",
  "weapons",
  "cocaine",
  "heroin",
  "narcotics",
];

const words = (text: string) =>
  text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
const hit = (text: string, terms: string[]) => words(text).find((w) => terms.includes(w));

export interface PolicySubject {
  account: Account;
  appExists: boolean;
  pkg: Package;
  listing: ListingMetadata;
  capabilities: CapabilityDescriptor[];
}

/** The automated policy checks run on submission; any finding rejects the version. */
export function policyFindings(s: PolicySubject): Finding[] {
  const out: Finding[] = [];
  if (s.account.status !== "active") out.push(finding("policy.account_inactive", "$.account", `The provider account is ${s.account.status}`));
  if (!s.appExists || s.pkg.orphanedAt) out.push(finding("policy.app_missing", "$.package.appId", `App ${s.pkg.appId} no longer exists`));

  for (const [path, text] of [
    ["$.package.name", s.listing.name],
    ["$.package.slug", s.pkg.slug],
  ] as const) {
    const term = hit(text, RESERVED_TERMS);
    if (term) out.push(finding("policy.reserved_term", path, `'${term}' is reserved for Aiffinity`));
  }

  const texts: [string, string][] = [
    ["$.package.name", s.listing.name],
    ["$.package.description", s.listing.description],
    ...s.capabilities.flatMap((c, i): [string, string][] => [
      [`$.version.capabilities[${i}].name`, c.name],
      [`$.version.capabilities[${i}].description`, c.description],
    ]),
  ];
  for (const [path, text] of texts) {
    const term = hit(text, PROHIBITED_TERMS);
    if (term) out.push(finding("policy.prohibited_content", path, `'${term}': the catalog does not list this kind of content`));
  }

  return sortFindings(out);
}

import type { Transaction } from "firebase-admin/firestore";
import type { OAuthAppPrincipal } from "../../domain/accounts/principals";
import { ApiError, conflict } from "../../kernel/errors";
import { firstError, type SchemaCheck } from "../../kernel/jsonSchema";
import { compareSemVer } from "../../domain/packages/descriptor";
import { findPackage, packageSlugs, type Package } from "../../domain/packages/package";
import { findVersion, listVersions, parseCapabilities } from "../../domain/packages/version";
import { capabilityKey, capabilityRef, parseCapabilityRef } from "../../domain/capabilities/naming";
import { type CompiledCapability } from "../../domain/capabilities/compiled";
import { compileCapability } from "../../domain/capabilities/compiled";

/**
 * From the public `<slug>.<capabilityId>` to the package, the version's descriptor and its compiled
 * schemas. A capability is visible only to the app whose package it is: anything else answers 404,
 * exactly like an unknown one.
 */
export interface CapabilityHandle {
  pkg: Package;
  capabilityId: string;
  ref: string;
  key: string;
}

const CACHE_SIZE = 500;

const capabilityNotFound = (ref: string) => new ApiError("NOT_FOUND", `No capability '${ref}'`);

// Slugs are unique and never change hands: slug → package id is cached for the instance's life.
const packageIdOfSlug = new Map<string, string>();

async function packageIdOf(slug: string): Promise<string | null> {
  const cached = packageIdOfSlug.get(slug);
  if (cached) return cached;
  const doc = (await packageSlugs().doc(slug).get()).data();
  if (!doc) return null;
  if (packageIdOfSlug.size >= CACHE_SIZE) packageIdOfSlug.delete(packageIdOfSlug.keys().next().value!);
  packageIdOfSlug.set(slug, doc.packageId);
  return doc.packageId;
}

export async function findVisibleCapability(principal: OAuthAppPrincipal, ref: string): Promise<CapabilityHandle> {
  const parsed = parseCapabilityRef(ref);
  if (!parsed) throw capabilityNotFound(ref);
  const packageId = await packageIdOf(parsed.slug);
  const pkg = packageId ? await findPackage(packageId) : null;
  if (!pkg || pkg.appId !== principal.appId || pkg.accountId !== principal.accountId) throw capabilityNotFound(ref);
  return {
    pkg,
    capabilityId: parsed.capabilityId,
    ref: capabilityRef(pkg.slug, parsed.capabilityId),
    key: capabilityKey(pkg.id, parsed.capabilityId),
  };
}

/** 404 unless some version of the package declares the capability (history and realtime need no particular version). */
export async function assertDeclared(handle: CapabilityHandle): Promise<void> {
  const versions = await listVersions(handle.pkg.id);
  if (!versions.some((v) => parseCapabilities(v.capabilitiesJson).some((c) => c.id === handle.capabilityId))) throw capabilityNotFound(handle.ref);
}

/** The capability as a given version of its package declares it; 404 when that version does not. */
export async function capabilityInVersion(
  handle: Pick<CapabilityHandle, "pkg" | "capabilityId" | "ref">,
  versionId: string,
  tx?: Transaction,
): Promise<CompiledCapability> {
  const version = await findVersion(handle.pkg.id, versionId, tx);
  const compiled = version ? compileCapability(version, handle.capabilityId) : null;
  if (!compiled) throw new ApiError("NOT_FOUND", `Capability '${handle.ref}' is not declared in version ${versionId}`);
  return compiled;
}

/** Production calls without a binding use the package's current published version. */
export async function publishedCapability(handle: CapabilityHandle): Promise<CompiledCapability> {
  if (!handle.pkg.currentVersionId)
    throw conflict(`Package ${handle.pkg.slug} has no published version: publish one, or try the capability in the sandbox`);
  return capabilityInVersion(handle, handle.pkg.currentVersionId);
}

/** The newest version of the package (by semantic version): the sandbox's default. */
export async function latestVersionId(pkg: Package): Promise<string> {
  const versions = await listVersions(pkg.id);
  const latest = versions.sort((a, b) => compareSemVer(b.version, a.version))[0];
  if (!latest) throw new Error(`Package ${pkg.id} has no versions`);
  return latest.id;
}

/** The value `check` rejects, as a VALIDATION_ERROR naming `field` and the pointer inside it. */
export function assertValid(check: SchemaCheck, value: unknown, field: string, what: string): void {
  if (!check.ok) throw conflict(`The ${what} schema of this capability is not usable (${check.detail}); fix the package version`);
  const problem = firstError(check.validate, value);
  if (!problem) return;
  const path = `${field}${problem.pointer.replace(/\//g, ".")}`;
  throw new ApiError("VALIDATION_ERROR", `${path}: ${problem.detail}`, { details: [{ field: path, message: problem.detail, code: "schema" }] });
}

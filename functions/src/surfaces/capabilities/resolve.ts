import type { Transaction } from "firebase-admin/firestore";
import type { OAuthAppPrincipal } from "../../domain/accounts/principals";
import { ApiError, conflict } from "../../kernel/errors";
import { firstError, type SchemaCheck } from "../../kernel/jsonSchema";
import { compareSemVer } from "../../domain/packages/descriptor";
import { findPackage, packageSlugs, type Package } from "../../domain/packages/package";
import { findVersion, listVersions, parseCapabilities, type Version } from "../../domain/packages/version";
import type { VersionState } from "../../domain/packages/versionStates";
import type { ReadBatch } from "../../kernel/firestore";
import { Lru } from "../../kernel/lru";
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
const packageIdOfSlug = new Lru<string, string>(CACHE_SIZE);

async function packageIdOf(slug: string): Promise<string | null> {
  const cached = packageIdOfSlug.get(slug);
  if (cached) return cached;
  const doc = (await packageSlugs().doc(slug).get()).data();
  if (!doc) return null;
  packageIdOfSlug.set(slug, doc.packageId);
  return doc.packageId;
}

/** The package a capability reference names, read but not yet authorised: never answered as is. */
export interface CapabilityRead {
  capabilityId: string;
  pkg: Package | null;
}

/**
 * Reads the package of `ref` without checking who asks (see visibleCapability); null for a malformed
 * ref. A slug already known joins `reads` at once; an unknown one is looked up first.
 */
export async function readCapability(ref: string, reads?: ReadBatch): Promise<CapabilityRead | null> {
  const parsed = parseCapabilityRef(ref);
  if (!parsed) return null;
  const known = packageIdOfSlug.get(parsed.slug);
  const packageId = known ?? (await packageIdOf(parsed.slug));
  return { capabilityId: parsed.capabilityId, pkg: packageId ? await findPackage(packageId, known ? reads : undefined) : null };
}

/** The capability if the caller's app owns its package; 404 otherwise, exactly like an unknown one. */
export function visibleCapability(principal: OAuthAppPrincipal, ref: string, read: CapabilityRead | null): CapabilityHandle {
  const pkg = read?.pkg;
  if (!read || !pkg || pkg.appId !== principal.appId || pkg.accountId !== principal.accountId) throw capabilityNotFound(ref);
  return {
    pkg,
    capabilityId: read.capabilityId,
    ref: capabilityRef(pkg.slug, read.capabilityId),
    key: capabilityKey(pkg.id, read.capabilityId),
  };
}

export async function findVisibleCapability(principal: OAuthAppPrincipal, ref: string): Promise<CapabilityHandle> {
  return visibleCapability(principal, ref, await readCapability(ref));
}

// A version's content never changes once published (versions are immutable from submission on,
// and only published ones are invoked): kept per instance. The package, which says which version
// is current and who owns it, is read on every request.
const RELEASED: ReadonlySet<VersionState> = new Set(["published", "superseded", "deprecated"]);
const releasedVersions = new Lru<string, Version>(CACHE_SIZE);

/**
 * A version of the package, from the instance's cache when it was published. Only its content may
 * be relied on (descriptor, capabilities, version string): its state and deprecation may have
 * moved on since it was cached.
 */
async function findVersionContent(packageId: string, versionId: string, tx?: Transaction): Promise<Version | null> {
  const key = `${packageId}/${versionId}`;
  const cached = releasedVersions.get(key);
  if (cached) return cached;
  const version = await findVersion(packageId, versionId, tx);
  if (version && RELEASED.has(version.state)) releasedVersions.set(key, version);
  return version;
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
  const version = await findVersionContent(handle.pkg.id, versionId, tx);
  const compiled = version ? compileCapability(version, handle.capabilityId) : null;
  if (!compiled) throw new ApiError("NOT_FOUND", `Capability '${handle.ref}' is not declared in version ${versionId}`);
  return compiled;
}

/** The package's current version, if it has one (read before the caller is authorised: see publishedCapability). */
export async function readPublishedVersion(read: Promise<CapabilityRead | null>): Promise<Version | null> {
  const pkg = (await read)?.pkg;
  return pkg?.currentVersionId ? findVersionContent(pkg.id, pkg.currentVersionId) : null;
}

/**
 * Production calls without a binding use the package's current published version; `version`: that
 * version if it was read already (readPublishedVersion of the same package read).
 */
export async function publishedCapability(handle: CapabilityHandle, version?: Promise<Version | null>): Promise<CompiledCapability> {
  const versionId = handle.pkg.currentVersionId;
  if (!versionId) throw conflict(`Package ${handle.pkg.slug} has no published version: publish one, or try the capability in the sandbox`);
  const read = version ? await version : undefined;
  if (read?.id !== versionId || read.packageId !== handle.pkg.id) return capabilityInVersion(handle, versionId);
  const compiled = compileCapability(read, handle.capabilityId);
  if (!compiled) throw new ApiError("NOT_FOUND", `Capability '${handle.ref}' is not declared in version ${versionId}`);
  return compiled;
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

import { firebaseUser } from "../../kernel/auth/firebaseUser";
import { PageQuery } from "../../kernel/http/envelope";
import { listRoute, reply, route } from "../../kernel/http/route";
import type { Surface } from "../../kernel/http/surface";
import {
  InstallBody,
  InstallOut,
  PackageParams,
  ListingOut,
  MarketplaceQuery,
  RatedOut,
  RatingBody,
  RatingOut,
  toInstallOut,
  toListingOut,
  toRatingOut,
} from "./schemas";
import { CatalogService } from "./service";

const tags = { catalog: ["Catalog"], installs: ["Catalog: Installs"], ratings: ["Catalog: Ratings"] };
const MARKETPLACE = "/v1/space/marketplace";

/** The Catalog & Install API (docs/catalog.md): any signed-in Firebase user; no developer account needed. */
export function catalogSurface(service = new CatalogService()): Surface {
  return {
    name: "catalog",
    routes: [
      listRoute({
        method: "get",
        operationId: "browseCatalog",
        path: MARKETPLACE,
        summary: "Browse and search the catalog",
        description:
          "Published packages that are not deprecated or revoked (orphaned ones stay, flagged and not installable, until they leave the catalog). " +
          "`?q` searches name, provider, capability names and description (every word must match the start of a word; case and accents are ignored); " +
          "`?category` filters; `?sort` orders (`popular` without `q`, `relevance` with it, or `recent`, `rating`); `?limit` (1–100, default 20) and `?offset` paginate.",
        tags: tags.catalog,
        auth: firebaseUser,
        query: MarketplaceQuery,
        response: ListingOut,
        handler: async ({ principal, query }) => {
          const page = await service.browse(principal, query);
          return { ...page, items: page.items.map(toListingOut) };
        },
      }),
      route({
        method: "get",
        operationId: "getListing",
        path: `${MARKETPLACE}/:id`,
        summary: "Retrieve a package's listing",
        description: "404 for packages not in the catalog; deprecated and revoked packages are shown only to users who have them installed.",
        tags: tags.catalog,
        auth: firebaseUser,
        params: PackageParams,
        response: ListingOut,
        handler: async ({ principal, params }) => toListingOut(await service.getListing(principal, params.id)),
      }),
      route({
        method: "post",
        operationId: "installPackage",
        idempotency: "plain",
        path: `${MARKETPLACE}/:id/install`,
        summary: "Install a package",
        description:
          "Installs the package's current version for you: one capability binding per capability, each synced on its refresh interval from now on. " +
          "201 with the install; installing again answers 200 with the install unchanged. Optional `parameters` per capability (default: the capability's sample input).",
        tags: tags.installs,
        auth: firebaseUser,
        params: PackageParams,
        body: InstallBody,
        bodyOptional: true,
        response: InstallOut,
        status: 201,
        errors: ["NOT_FOUND", "PACKAGE_NOT_INSTALLABLE"],
        handler: async ({ principal, params, body }) => {
          const { install, bindings, created } = await service.install(principal, params.id, body);
          return reply(toInstallOut(install, bindings, service.now()), { status: created ? 201 : 200 });
        },
      }),
      route({
        method: "delete",
        operationId: "uninstallPackage",
        path: `${MARKETPLACE}/:id/install`,
        summary: "Uninstall a package",
        description:
          "Removes your capability bindings, stops their data sync and deletes their cached state; the provider is told (`install.deleted`). " +
          "Data the provider holds about you is kept as its policy says (`dataRetentionPolicyUrl`). 404 when you have not installed it.",
        tags: tags.installs,
        auth: firebaseUser,
        params: PackageParams,
        response: InstallOut,
        errors: ["NOT_FOUND"],
        handler: async ({ principal, params }) => {
          const { install, bindings } = await service.uninstall(principal, params.id);
          return toInstallOut(install, bindings, service.now());
        },
      }),
      listRoute({
        method: "get",
        operationId: "listInstalls",
        path: "/v1/space/installs",
        summary: "List your installs",
        description: "Your installed packages, newest first, with each capability's parameters and freshness (last and next sync).",
        tags: tags.installs,
        auth: firebaseUser,
        query: PageQuery,
        response: InstallOut,
        handler: async ({ principal, query }) => {
          const page = await service.listInstalls(principal, query.limit, query.offset);
          const now = service.now();
          return { ...page, items: page.items.map((i) => toInstallOut(i.install, i.bindings, now)) };
        },
      }),
      route({
        method: "post",
        operationId: "ratePackage",
        idempotency: "plain",
        path: `${MARKETPLACE}/:id/ratings`,
        summary: "Rate a package",
        description:
          "1–5 stars and an optional text, once per package (rating again replaces your rating: 200). Only users who have the package installed (403 `INSTALL_REQUIRED`).",
        tags: tags.ratings,
        auth: firebaseUser,
        params: PackageParams,
        body: RatingBody,
        response: RatedOut,
        status: 201,
        errors: ["NOT_FOUND", "INSTALL_REQUIRED"],
        handler: async ({ principal, params, body }) => {
          const { rating, created, packageRating } = await service.rate(principal, params.id, body);
          return reply({ ...toRatingOut(rating, principal.uid), packageRating }, { status: created ? 201 : 200 });
        },
      }),
      listRoute({
        method: "get",
        operationId: "listRatings",
        path: `${MARKETPLACE}/:id/ratings`,
        summary: "List a package's ratings",
        description: "Most recently changed first; raters stay anonymous (`mine` marks yours).",
        tags: tags.ratings,
        auth: firebaseUser,
        params: PackageParams,
        query: PageQuery,
        response: RatingOut,
        errors: ["NOT_FOUND"],
        handler: async ({ principal, params, query }) => {
          const page = await service.listRatings(principal, params.id, query.limit, query.offset);
          return { ...page, items: page.items.map((r) => toRatingOut(r, principal.uid)) };
        },
      }),
    ],
  };
}

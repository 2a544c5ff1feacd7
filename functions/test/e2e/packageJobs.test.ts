import functionsTest from "firebase-functions-test";
import { fixedClock } from "../../src/kernel/clock";
import { ApiError } from "../../src/kernel/errors";
import { pubsubPublisher } from "../../src/kernel/pubsub";
import { RuntimeAppProber } from "../../src/domain/conformance/runtimeProber";
import { conformanceRuns, RUN_LEASE_MS } from "../../src/domain/conformance/validationRun";
import { packageSubmissions } from "../../src/domain/packages/review";
import { ConformanceRunner } from "../../src/jobs/conformance";
import { PackagesService } from "../../src/surfaces/packages/service";
import { adminDb } from "../helpers/admin";
import { weatherForecast } from "../helpers/descriptors";
import { PROJECT_ID } from "../helpers/env";
import { api, expectError, expectStatus } from "../helpers/http";
import { accountOf, HoldingPublisher, unreachablePublisher } from "../helpers/inProcess";
import { createPackage, eventually, packageProvider, useSampleProvider, validate, versionInState, versionPath } from "../helpers/packages";
import { loadLocalSecretsIntoEnv } from "../helpers/secrets";
import { mailsTo } from "../helpers/stories";

const testEnv = functionsTest({ projectId: PROJECT_ID });
// In-process runners open the runtime app's auth profile with the emulator's key.
loadLocalSecretsIntoEnv();
const sample = useSampleProvider();
afterAll(() => testEnv.cleanup());

type Outcome = "done" | "duplicate" | "stale" | "in_progress" | "invalid";

/** Delivers `message` to a deployed Pub/Sub function in this process, as Pub/Sub would, with the given message id. */
async function deliver(fn: "conformanceRunner" | "submissionChecker", message: Record<string, unknown>, messageId: string): Promise<Outcome> {
  const functions = await import("../../src/index");
  return testEnv.wrap(functions[fn])({ data: { message: { json: message, messageId } } }) as Promise<Outcome>;
}

async function setup(riskTier = "data_only") {
  const provider = await packageProvider(sample());
  const app = provider.app;
  const overrides =
    riskTier === "data_only" ? {} : { riskTier, capabilities: [weatherForecast({ dataCategories: ["location"], scopes: ["read:location"] })] };
  const { id, versionId } = await createPackage(provider.token, app.id, overrides);
  return { ...provider, id, versionId, account: await accountOf(provider.accountId) };
}

const transitionsOf = async (packageId: string, versionId: string) =>
  (await adminDb().collection(`packages/${packageId}/transitions`).where("versionId", "==", versionId).get()).docs.map((d) => d.data());
const eventsOfRun = async (accountId: string, runId: string) =>
  (await adminDb().collection("providerEvents").where("accountId", "==", accountId).get()).docs.filter((d) => d.get("data.runId") === runId);
const runDoc = async (packageId: string, versionId: string, runId: string) =>
  (await adminDb().doc(`packages/${packageId}/versions/${versionId}/validationRuns/${runId}`).get()).data()!;

describe("conformance runner (Pub/Sub)", () => {
  it("has one effect however often, and however concurrently, a message is delivered", async () => {
    const { id, versionId, account, accountId, email } = await setup();
    const held = new HoldingPublisher();
    const run = await new PackagesService({ publisher: held }).requestValidation(account, id, versionId);
    const message = held.last(conformanceRuns);
    expect(message).toEqual({ packageId: id, versionId, runId: run.id });

    const outcomes = await Promise.all([deliver("conformanceRunner", message, "dup-run-1"), deliver("conformanceRunner", message, "dup-run-1")]);
    expect(outcomes.sort()).toEqual(expect.arrayContaining(["done"]));
    expect(outcomes.filter((o) => o === "done")).toHaveLength(1);
    expect(await deliver("conformanceRunner", message, "dup-run-1")).toBe("duplicate");
    // A second publication of the same run (another message id) finds the run finished.
    expect(await deliver("conformanceRunner", message, "dup-run-2")).toBe("stale");

    expect((await runDoc(id, versionId, run.id)).status).toBe("passed");
    const toValidated = (await transitionsOf(id, versionId)).filter((t) => t.to === "validated");
    expect(toValidated).toHaveLength(1);
    expect(await eventsOfRun(accountId, run.id)).toHaveLength(1);
    expect((await mailsTo(email)).filter((m) => m.message.subject.includes("passed validation"))).toHaveLength(1);
    expect((await adminDb().doc(`processedEvents/conformance-runner:dup-run-1`).get()).exists).toBe(true);
  });

  it("ignores a late message for a run that was abandoned and replaced (out of order)", async () => {
    const { id, versionId, account } = await setup();
    const held = new HoldingPublisher();
    const first = await new PackagesService({ publisher: held }).requestValidation(account, id, versionId);
    const firstMessage = held.last(conformanceRuns);
    // The first message is lost; after its lease expired the provider validates again.
    const later = fixedClock(new Date(first.leaseExpiresAt.getTime() + 1000));
    const second = await new PackagesService({ publisher: held, clock: later }).requestValidation(account, id, versionId);
    const secondMessage = held.last(conformanceRuns);
    expect(await runDoc(id, versionId, first.id)).toEqual(
      expect.objectContaining({ status: "failed", failure: expect.stringContaining("abandoned") }),
    );

    expect(await deliver("conformanceRunner", secondMessage, `ooo-${second.id}`)).toBe("done");
    const before = await transitionsOf(id, versionId);
    expect(await deliver("conformanceRunner", firstMessage, `ooo-${first.id}`)).toBe("stale");
    expect(await transitionsOf(id, versionId)).toHaveLength(before.length);
    expect((await runDoc(id, versionId, first.id)).status).toBe("failed");
    expect((await runDoc(id, versionId, second.id)).status).toBe("passed");
    expect(before.map((t) => [t.from, t.to, t.actor.id]).sort()).toEqual(
      [
        [null, "draft", account.id],
        ["draft", "validating", account.id],
        ["validating", "draft", "conformance-runner"],
        ["draft", "validating", account.id],
        ["validating", "validated", "conformance-runner"],
      ].sort(),
    );
  });

  it("leaves a run whose runner crashed retryable: by redelivery after the lease, or by validating again", async () => {
    const { id, versionId, account, token } = await setup();
    const held = new HoldingPublisher();
    const run = await new PackagesService({ publisher: held }).requestValidation(account, id, versionId);
    const message = held.last(conformanceRuns);
    const jobs = new ConformanceRunner({ prober: new RuntimeAppProber() });

    // The runner takes the lease and dies before finishing.
    const crashed = await jobs.startRun(message, "crash-1");
    expect(typeof crashed).toBe("object");
    const running = await api.get(`${versionPath(id, versionId)}/validations/${run.id}`, { token });
    expect(running.body.data).toEqual(expect.objectContaining({ status: "running", attempt: 1 }));
    // While the lease holds: no second validation, and a redelivery does not start a second runner.
    expectError(await api.post(`${versionPath(id, versionId)}/validate`, undefined, { token }), 409, "CONFLICT");
    expect(await jobs.runConformance(message, "crash-2")).toBe("in_progress");

    // Past the lease, a redelivery takes the run over and finishes it.
    const afterLease = fixedClock(new Date(Date.now() + RUN_LEASE_MS + 1000));
    expect(await new ConformanceRunner({ prober: new RuntimeAppProber(), clock: afterLease }).runConformance(message, "crash-3")).toBe("done");
    expect(await runDoc(id, versionId, run.id)).toEqual(expect.objectContaining({ status: "passed", attempt: 2 }));
    // The crashed attempt cannot finish late over the takeover.
    if (typeof crashed === "object") expect(await jobs.finishRun(message, "crash-1", crashed.attemptId, null)).toBe("stale");
    expect((await runDoc(id, versionId, run.id)).status).toBe("passed");
  });

  it("lets the provider validate again once a crashed run's lease expired", async () => {
    const { id, versionId, account, token } = await setup();
    const held = new HoldingPublisher();
    const run = await new PackagesService({ publisher: held }).requestValidation(account, id, versionId);
    await new ConformanceRunner({ prober: new RuntimeAppProber() }).startRun(held.last(conformanceRuns), "crash-a");

    // The run reads as failed once its lease is over (a client polling it stops waiting)...
    const later = fixedClock(new Date(Date.now() + RUN_LEASE_MS + 1000));
    const seen = await new PackagesService({ clock: later }).getRun(account, id, versionId, run.id);
    expect(seen).toEqual(expect.objectContaining({ status: "failed", failure: expect.stringContaining("lease expired") }));
    // ...and validating again abandons it and queues a new run, which the real runner finishes.
    const retry = await new PackagesService({ clock: later, publisher: pubsubPublisher }).requestValidation(account, id, versionId);
    expect(retry.id).not.toBe(run.id);
    expect(await runDoc(id, versionId, run.id)).toEqual(
      expect.objectContaining({ status: "failed", failure: "The run did not finish before its lease expired; it was abandoned" }),
    );
    const finished = await eventually(async () => {
      const res = await api.get(`${versionPath(id, versionId)}/validations/${retry.id}`, { token });
      return res.body.data.status === "passed" ? res.body.data : undefined;
    });
    expect(finished.attempt).toBe(1);
    const version = (await api.get(versionPath(id, versionId), { token })).body.data;
    expect(version.state).toBe("validated");
    expect(version.history.map((h: { to: string; reason: string }) => h.reason)).toContainEqual(
      expect.stringMatching(/^Validation run run_\w+ abandoned: its lease expired$/),
    );
  });

  it("returns the version to draft when the run cannot be queued", async () => {
    const { id, versionId, account, token } = await setup();
    const error = await new PackagesService({ publisher: unreachablePublisher }).requestValidation(account, id, versionId).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe("SERVICE_UNAVAILABLE");
    const version = (await api.get(versionPath(id, versionId), { token })).body.data;
    expect(version.state).toBe("draft");
    expect(version.validation).toEqual(expect.objectContaining({ status: "failed" }));
    expect((await validate(token, id, versionId)).status).toBe("passed");
  });

  it("drops malformed messages", async () => {
    expect(await deliver("conformanceRunner", { hello: "world" }, "malformed-1")).toBe("invalid");
    expect(await deliver("submissionChecker", { packageId: 42 }, "malformed-2")).toBe("invalid");
  });
});

describe("submission checks (Pub/Sub)", () => {
  it("queue a version for review once, however often the message comes", async () => {
    const { id, versionId, account, token } = await setup("read_personal");
    await validate(token, id, versionId);
    const held = new HoldingPublisher();
    await new PackagesService({ publisher: held }).submitVersion(account, id, versionId);
    const message = held.last(packageSubmissions);

    const outcomes = await Promise.all([deliver("submissionChecker", message, "dup-sub-1"), deliver("submissionChecker", message, "dup-sub-1")]);
    expect(outcomes.filter((o) => o === "done")).toHaveLength(1);
    expect(await deliver("submissionChecker", message, "dup-sub-1")).toBe("duplicate");
    expect(await deliver("submissionChecker", message, "dup-sub-2")).toBe("stale");
    const reviews = await adminDb().collection("reviews").where("versionId", "==", versionId).get();
    expect(reviews.size).toBe(1);
    expect((await transitionsOf(id, versionId)).filter((t) => t.to === "in_review")).toHaveLength(1);
  });

  it("re-sends a submission whose message was lost, after a while, and lists it once", async () => {
    const { id, versionId, account, token } = await setup();
    await validate(token, id, versionId);
    const held = new HoldingPublisher();
    await new PackagesService({ publisher: held }).submitVersion(account, id, versionId);
    // Within the retry window a second submit is an illegal transition...
    expectError(await api.post(`${versionPath(id, versionId)}/submit`, undefined, { token }), 409, "CONFLICT");
    // ...after it, submitting again re-sends the same submission (here through real Pub/Sub).
    const later = fixedClock(new Date(Date.now() + 5 * 60_000 + 1000));
    const resent = await new PackagesService({ clock: later }).submitVersion(account, id, versionId);
    expect(resent.version.state).toBe("submitted");
    await versionInState(token, id, versionId, "published");
    // The lost message turning up late changes nothing.
    expect(await deliver("submissionChecker", held.last(packageSubmissions), "late-sub")).toBe("stale");
    expect((await transitionsOf(id, versionId)).filter((t) => t.to === "published")).toHaveLength(1);
    expectStatus(200, await api.get(versionPath(id, versionId), { token }));
  });
});

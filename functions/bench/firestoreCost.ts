import { FieldValue } from "firebase-admin/firestore";
import { generateKeyPair, SignJWT } from "jose";
import { adminDb } from "../test/helpers/admin";
import { type Benchmark, type BenchResult, cpuSince, javaPids, round, summarize } from "./harness";

const CALLS = 300;
// The emulator warms up slowly: its first few hundred calls of a kind cost it up to 3 × the CPU of later ones.
const WARM_UP = 300;
const SIGNATURES = 2000;

/**
 * What one Firestore call costs on this machine, counted as the CPU both sides spend: the Java
 * emulator and this Node process (the Firestore client); against one bare jose RS256 signature in
 * this process (a 2048-bit key, an access token's claims). Calls one at a time, so each call's CPU is
 * its own. Explains the token benchmark: on this machine every Firestore call a request makes costs
 * the CPU of many signatures, which production's Firestore does not take from the instance.
 */
export const firestoreCostBenchmark: Benchmark = {
  name: "firestore-cost",
  async run(): Promise<BenchResult[]> {
    const db = adminDb();
    const base = db.collection("benchFirestoreCost").doc(`run-${Date.now()}`).collection("docs");
    const processes = { caller: process.pid, emulators: javaPids() };

    const { privateKey } = await generateKeyPair("RS256", { modulusLength: 2048 });
    const sign = () =>
      new SignJWT({ client_id: "client_bench", account_id: "acc_bench" })
        .setProtectedHeader({ alg: "RS256", kid: "bench", typ: "at+jwt" })
        .setIssuer("http://127.0.0.1")
        .setAudience("http://127.0.0.1/v1/providers")
        .setSubject("app_bench")
        .setIssuedAt()
        .setExpirationTime("1h")
        .setJti(`tok_${Math.random().toString(36).slice(2)}`)
        .sign(privateKey);
    for (let i = 0; i < 200; i++) await sign();
    const signing = cpuSince({ caller: process.pid });
    for (let i = 0; i < SIGNATURES; i++) await sign();
    const signCpuMs = signing(SIGNATURES).caller;

    const existing = base.doc("existing");
    await existing.set({ name: "bench", count: 0 });
    let created = 0;
    const calls: [string, () => Promise<unknown>][] = [
      ["get one document", () => existing.get()],
      [
        "getAll of 4 documents, 2 missing (the token endpoint's lookup)",
        () => db.getAll(existing, base.doc("a"), base.doc("missing-1"), base.doc("missing-2")),
      ],
      [
        "increment one field (set merge: a rate-limit lease, a throttle reservation)",
        () => existing.set({ count: FieldValue.increment(1) }, { merge: true }),
      ],
      [
        "create a document of ~500 bytes (an invocation record)",
        () => base.doc(`doc-${created++}`).create({ at: new Date(), body: "x".repeat(500) }),
      ],
    ];
    const results: BenchResult[] = [];
    for (const [name, call] of calls) {
      for (let i = 0; i < WARM_UP; i++) await call();
      const latencies: number[] = [];
      const spent = cpuSince(processes);
      for (let i = 0; i < CALLS; i++) {
        const started = performance.now();
        await call();
        latencies.push(performance.now() - started);
      }
      const { emulators: emulatorCpu, caller: callerCpu } = spent(CALLS);
      results.push({
        name,
        metrics: {
          calls: CALLS,
          p50_ms: round(summarize(latencies).p50),
          emulator_cpu_ms: round(emulatorCpu),
          client_cpu_ms: round(callerCpu),
          signature_cpu_ms: round(signCpuMs, 3),
          signatures_worth: round((emulatorCpu + callerCpu) / signCpuMs, 1),
        },
        note: "one call at a time; CPU of the Java emulators and of this process per call, and how many RS256 signatures that CPU would sign",
      });
    }
    await db.recursiveDelete(db.collection("benchFirestoreCost"));
    return results;
  },
};

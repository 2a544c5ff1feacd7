// The functions emulator loads scheduled functions but never runs them (firebase/firebase-tools#2034).
// For `npm start` this runs each scheduled function of functions/lib on its schedule ("every N
// minutes"), in this process, against the emulators: data sync, counter folds, webhook retries,
// quality evaluation and the orphan sweep then behave locally as they do in production.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

/** KEY=value lines (values bare or JSON-quoted), as in functions/.env.* and functions/.secret.local. */
function loadEnvFile(path) {
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (!match) continue;
    const raw = match[2];
    process.env[match[1]] ??= raw.startsWith('"') ? JSON.parse(raw) : raw;
  }
}

export function startLocalScheduler(root, project) {
  const functionsDir = join(root, "functions");
  loadEnvFile(join(functionsDir, `.env.${project}`));
  loadEnvFile(join(functionsDir, ".secret.local"));
  const require = createRequire(join(functionsDir, "package.json"));
  const exported = require(join(functionsDir, "lib/index.js"));
  const jobs = [];
  for (const [name, fn] of Object.entries(exported)) {
    const schedule = fn?.__endpoint?.scheduleTrigger?.schedule;
    if (!schedule) continue;
    const match = /^every (\d+) minutes?$/.exec(schedule);
    if (!match) {
      console.warn(`[local scheduler] ${name}: schedule "${schedule}" not understood; not run locally`);
      continue;
    }
    jobs.push({ name, fn, everyMs: Number(match[1]) * 60_000, running: false });
  }
  const tick = async (job) => {
    if (job.running) return; // a slow run is not overlapped, as Cloud Scheduler's retries would not be
    job.running = true;
    try {
      await job.fn.run({ scheduleTime: new Date().toISOString(), jobName: job.name });
    } catch (error) {
      console.error(`[local scheduler] ${job.name} failed:`, error);
    } finally {
      job.running = false;
    }
  };
  for (const job of jobs) setInterval(() => void tick(job), job.everyMs).unref();
  return jobs.map((j) => `${j.name} (every ${j.everyMs / 60_000} min)`);
}

/** Types of scripts/deploy-manifest.js (a plain Node script, also run by `npm run docs:deploy`). */
export interface Manifest {
  endpoints: Record<string, { httpsTrigger?: object; eventTrigger?: object; scheduleTrigger?: object }>;
  params?: { name: string; type: string }[];
}
export function loadManifest(env?: Record<string, string | undefined>): Manifest;
export function render(manifest: Manifest): string;
export function documented(): { section: string };

/** Problems of a manifest, each at a line of its file (light: loaded before any command). */

export type Segment = string | number;

export interface Position {
  line: number;
  column: number;
}

export interface Problem {
  /** JSON path into the manifest, e.g. `$.capabilities[0].inputSchema`. */
  path: string;
  message: string;
  position: Position | null;
}

export class ManifestProblems extends Error {
  constructor(
    readonly file: string,
    readonly problems: Problem[],
  ) {
    super(`${file}: ${problems.length} problem${problems.length === 1 ? "" : "s"}`);
    this.name = "ManifestProblems";
  }
}

export const formatPath = (path: Segment[]) => `$${path.map((s) => (typeof s === "number" ? `[${s}]` : /^[A-Za-z_$][\w$]*$/.test(s) ? `.${s}` : `['${s.replace(/'/g, "\\'")}']`)).join("")}`;


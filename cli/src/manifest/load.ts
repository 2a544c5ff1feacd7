import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { parseEnv } from "node:util";
import { findNodeAtLocation, Node as JsonNode, parse as parseJsonc, ParseError, parseTree, printParseErrorCode } from "jsonc-parser";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from "yaml";
import { formatPath, ManifestProblems, type Position, type Problem, type Segment } from "./problems.js";
import { Manifest } from "./schema.js";

export { formatPath, ManifestProblems, type Position, type Problem, type Segment };

/**
 * Reads the manifest (JSON or YAML), keeps where every value is in the file, checks it against
 * the schema, and reads the `.env` file next to it. Every problem names a line of the file.
 */

export const MANIFEST_NAMES = ["aiffinity.json", "aiffinity.yaml", "aiffinity.yml"];

export interface LoadedManifest {
  file: string;
  /** The file name as the user wrote it (for messages). */
  display: string;
  manifest: Manifest;
  /** Where a path of the manifest is, or its nearest ancestor that is in the file. */
  locate(path: Segment[]): Position | null;
  /** Environment: process.env over the `.env` file next to the manifest. */
  env: Record<string, string | undefined>;
}

export function findManifest(given: string | undefined, cwd = process.cwd()): string {
  if (given) return resolve(cwd, given);
  for (const name of MANIFEST_NAMES) if (existsSync(resolve(cwd, name))) return resolve(cwd, name);
  throw new ManifestProblems(MANIFEST_NAMES[0]!, [{ path: "$", message: `No manifest here (${MANIFEST_NAMES.join(", ")}): run \`aiffinity init\`, or pass --manifest <file>`, position: null }]);
}

/** `$.a.b[0]['c d']` → ["a", "b", 0, "c d"]. */
export function parsePath(path: string): Segment[] {
  const segments: Segment[] = [];
  const re = /\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]|\["((?:[^"\\]|\\.)*)"\]/gy;
  let rest = path.startsWith("$") ? path.slice(1) : path;
  re.lastIndex = 0;
  let match: RegExpExecArray | null;
  let consumed = 0;
  while ((match = re.exec(rest))) {
    consumed = re.lastIndex;
    if (match[1] !== undefined) segments.push(match[1]);
    else if (match[2] !== undefined) segments.push(Number(match[2]));
    else segments.push((match[3] ?? match[4])!.replace(/\\(.)/g, "$1"));
  }
  rest = rest.slice(consumed);
  // Anything unparsed (an odd path) is ignored: the ancestor found so far is reported.
  return segments;
}

function lineIndex(text: string): (offset: number) => Position {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === "\n") starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo]! + 1 };
  };
}

function parseJsonManifest(text: string, display: string): { value: unknown; locate: (path: Segment[]) => Position | null } {
  const position = lineIndex(text);
  const errors: ParseError[] = [];
  const value = parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false });
  if (errors.length) {
    throw new ManifestProblems(
      display,
      errors.map((e) => ({ path: "$", message: `Not valid JSON: ${printParseErrorCode(e.error)}`, position: position(e.offset) })),
    );
  }
  const root = parseTree(text)!;
  const locate = (path: Segment[]): Position | null => {
    for (let n = path.length; n >= 0; n--) {
      const node: JsonNode | undefined = findNodeAtLocation(root, path.slice(0, n));
      if (!node) continue;
      // A property's line is its key's line; an array item's is its own.
      const at = node.parent?.type === "property" ? node.parent.offset : node.offset;
      return position(at);
    }
    return null;
  };
  return { value, locate };
}

function parseYamlManifest(text: string, display: string): { value: unknown; locate: (path: Segment[]) => Position | null } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length) {
    throw new ManifestProblems(
      display,
      doc.errors.map((e) => ({ path: "$", message: `Not valid YAML: ${e.message.split("\n")[0]}`, position: lineCounter.linePos(e.pos[0]) ? { line: lineCounter.linePos(e.pos[0]).line, column: lineCounter.linePos(e.pos[0]).col } : null })),
    );
  }
  const at = (offset: number): Position => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const locate = (path: Segment[]): Position | null => {
    let node: YamlNode | null = doc.contents as YamlNode | null;
    let best: number | null = node?.range?.[0] ?? null;
    for (const segment of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === segment);
        if (!pair) break;
        best = (isScalar(pair.key) ? pair.key.range?.[0] : undefined) ?? best;
        node = pair.value as YamlNode | null;
      } else if (isSeq(node) && typeof segment === "number") {
        const item = node.items[segment] as YamlNode | undefined;
        if (!item) break;
        best = item.range?.[0] ?? best;
        node = item;
      } else break;
    }
    return best === null ? null : at(best);
  };
  return { value: doc.toJS(), locate };
}

export function readEnvFile(dir: string): Record<string, string> {
  const file = resolve(dir, ".env");
  return existsSync(file) ? (parseEnv(readFileSync(file, "utf8")) as Record<string, string>) : {};
}

export function loadManifest(file: string): LoadedManifest {
  const display = basename(file);
  if (!existsSync(file)) throw new ManifestProblems(display, [{ path: "$", message: `${file} does not exist: run \`aiffinity init\`, or pass --manifest <file>`, position: null }]);
  const text = readFileSync(file, "utf8");
  const parsed = /\.ya?ml$/i.test(file) ? parseYamlManifest(text, display) : parseJsonManifest(text, display);
  const result = Manifest.safeParse(parsed.value);
  if (!result.success) {
    throw new ManifestProblems(
      display,
      result.error.issues.map((issue) => {
        const path = issue.path.filter((s): s is Segment => typeof s === "string" || typeof s === "number");
        return { path: formatPath(path), message: issue.message, position: parsed.locate(path) };
      }),
    );
  }
  return { file, display, manifest: result.data, locate: parsed.locate, env: { ...readEnvFile(dirname(file)), ...process.env } };
}

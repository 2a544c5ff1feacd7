import { stripVTControlCharacters, styleText } from "node:util";

/**
 * What the CLI prints. Results go to stdout: human text, or one JSON document with `--json`.
 * Progress goes to stderr: a spinner with timings on a terminal, plain timestamped lines
 * elsewhere (CI logs), nothing with `--quiet`.
 */

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  /** stderr is a terminal: spinners and colours. */
  interactive: boolean;
}

type Style = Parameters<typeof styleText>[0];

export class Output {
  constructor(readonly options: OutputOptions) {}

  get json() {
    return this.options.json;
  }

  /** Colour only on a terminal, and never when NO_COLOR is set. */
  style(format: Style, text: string): string {
    return this.options.interactive && !process.env.NO_COLOR ? styleText(format, text) : text;
  }

  /** A human line on stdout (never with --json). */
  line(text = "") {
    if (!this.options.json) process.stdout.write(`${text}\n`);
  }

  /** The result: JSON with --json, else the human text. */
  result(json: unknown, human?: () => void) {
    if (this.options.json) process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    else human?.();
  }

  /** A note for humans on stderr (kept out of stdout so pipes stay clean). */
  note(text: string) {
    if (!this.options.quiet) process.stderr.write(`${text}\n`);
  }

  warn(text: string) {
    process.stderr.write(`${this.style("yellow", "warning:")} ${text}\n`);
  }

  error(text: string) {
    process.stderr.write(`${this.style("red", "error:")} ${text}\n`);
  }

  /** Runs one step of a long operation, showing it while it runs and how long it took. */
  async step<T>(label: string, work: () => Promise<T>, done?: (result: T) => string): Promise<T> {
    const started = Date.now();
    const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
    let timer: NodeJS.Timeout | null = null;
    if (!this.options.quiet && this.options.interactive) {
      const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
      let frame = 0;
      const draw = () => process.stderr.write(`\r\x1b[2K${this.style("cyan", frames[frame++ % frames.length]!)} ${label} ${this.style("dim", elapsed())}`);
      draw();
      timer = setInterval(draw, 80);
    } else if (!this.options.quiet) {
      process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${label}...\n`);
    }
    try {
      const result = await work();
      const summary = done ? done(result) : "done";
      if (timer) clearInterval(timer);
      if (!this.options.quiet) {
        if (this.options.interactive) process.stderr.write(`\r\x1b[2K${this.style("green", "✔")} ${label}: ${summary} ${this.style("dim", elapsed())}\n`);
        else process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${label}: ${summary} (${elapsed()})\n`);
      }
      return result;
    } catch (error) {
      if (timer) clearInterval(timer);
      if (!this.options.quiet) {
        if (this.options.interactive) process.stderr.write(`\r\x1b[2K${this.style("red", "✖")} ${label} ${this.style("dim", elapsed())}\n`);
        else process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${label}: failed (${elapsed()})\n`);
      }
      throw error;
    }
  }
}

/** A table of rows (strings), columns padded to their widest cell. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  const width = (cell: string) => stripVTControlCharacters(cell).length;
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, width(cell))));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell + " ".repeat(widths[i]! - width(cell)))).join("  ")).join("\n");
}

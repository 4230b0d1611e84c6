// Reading JSONL that users write: every line validated, every problem named by file and line.
import { existsSync, readFileSync } from "node:fs";
import type { z } from "zod";
import { formatIssues } from "@reviewtune/contracts";
import { DataError } from "../errors.js";

export interface JsonlOptions {
  /** What the file is, for messages ("data file", "prompts file"). */
  what: string;
  /** What a valid line looks like: shown under a schema error. */
  hint: string;
  /** Where the path came from, shown when the file is missing. */
  missingHint?: string;
  /** An empty file is a valid answer (a split that holds no rows), not an error. */
  allowEmpty?: boolean;
}

/** Bad lines a message lists; the rest are counted. */
export const BAD_LINES_LISTED = 10;

/**
 * Parses every non-blank line with `schema`; throws DataError naming the file and each bad line (up
 * to BAD_LINES_LISTED of them, the rest counted): one fix at a time was a run per bad line.
 */
export function readJsonl<S extends z.ZodType>(file: string, schema: S, options: JsonlOptions): Array<z.output<S>> {
  if (!existsSync(file)) throw new DataError(`${options.what} ${file} does not exist`, file, undefined, { hint: options.missingHint ?? "check the path" });
  const rows: Array<z.output<S>> = [];
  const bad: Array<{ line: number; problem: string; hint: string }> = [];
  let badLines = 0;
  const refuse = (line: number, problem: string, hint: string) => {
    badLines += 1;
    if (bad.length < BAD_LINES_LISTED) bad.push({ line, problem, hint });
  };
  readFileSync(file, "utf8")
    .split("\n")
    .forEach((line, index) => {
      if (!line.trim()) return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        refuse(index + 1, `not valid JSON (${(error as Error).message})`, "each line must be one JSON object");
        return;
      }
      const parsed = schema.safeParse(value);
      if (!parsed.success) refuse(index + 1, formatIssues(parsed.error, value, schema).join("; "), options.hint);
      else rows.push(parsed.data);
    });
  if (bad.length > 0) {
    const listed = bad.map(({ line, problem }) => `${file}:${line}: ${problem}`);
    if (badLines > bad.length) listed.push(`(and ${badLines - bad.length} more bad lines)`);
    const hints = [...new Set(bad.map(({ hint }) => hint))];
    throw new DataError(listed.join("\n"), file, bad[0]!.line, { hint: hints.join("; ") });
  }
  if (rows.length === 0 && !options.allowEmpty) throw new DataError(`${file} has no rows`, file, undefined, { hint: options.hint });
  return rows;
}

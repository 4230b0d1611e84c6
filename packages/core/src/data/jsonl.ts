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

/** Parses every non-blank line with `schema`; throws DataError naming the file and line. */
export function readJsonl<S extends z.ZodType>(file: string, schema: S, options: JsonlOptions): Array<z.output<S>> {
  if (!existsSync(file)) throw new DataError(`${options.what} ${file} does not exist`, file, undefined, { hint: options.missingHint ?? "check the path" });
  const rows: Array<z.output<S>> = [];
  readFileSync(file, "utf8")
    .split("\n")
    .forEach((line, index) => {
      if (!line.trim()) return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        throw new DataError(`${file}:${index + 1}: not valid JSON (${(error as Error).message})`, file, index + 1, {
          hint: "each line must be one JSON object",
        });
      }
      const parsed = schema.safeParse(value);
      if (!parsed.success) throw new DataError(`${file}:${index + 1}: ${formatIssues(parsed.error, value).join("; ")}`, file, index + 1, { hint: options.hint });
      rows.push(parsed.data);
    });
  if (rows.length === 0 && !options.allowEmpty) throw new DataError(`${file} has no rows`, file, undefined, { hint: options.hint });
  return rows;
}

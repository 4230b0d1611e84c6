// Outputs written whole or not at all: staged beside the target (the same filesystem, so the rename
// is atomic), hidden and named after this process (two writers never share one), then renamed over
// it. An interrupted write leaves no file that looks complete. The engine writes the same way
// (reviewtune_engine/files.py: staging_path, write_json_atomic).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { z } from "zod";
import { JsonParseError, formatIssues, parseJson } from "@reviewtune/contracts";
import { DataError } from "./errors.js";

/** Where a file or folder is written before it is renamed over `target`: `.<name>.partial-<pid>` beside it. */
export function stagingPath(target: string): string {
  return join(dirname(target), `.${basename(target)}.partial-${process.pid}`);
}

/** `data` at `file`, whole or not at all; its folder is made when missing (`--out new/answers.json`
 * after minutes of generation must not end in ENOENT and lose them). */
export function writeFileAtomic(file: string, data: string | NodeJS.ArrayBufferView): void {
  mkdirSync(dirname(file), { recursive: true });
  const staging = stagingPath(file);
  writeFileSync(staging, data);
  renameSync(staging, file);
}

/** `value` as indented JSON (with a final newline) at `file`, whole or not at all. */
export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** The JSON file `file` as `schema` reads it; otherwise a DataError naming the file and the field (with `hint`, what to do). */
export function readJsonFile<S extends z.ZodType>(file: string, schema: S, hint?: string): z.output<S> {
  try {
    return parseJson(readFileSync(file, "utf8"), schema, file);
  } catch (error) {
    if (error instanceof JsonParseError) throw new DataError(error.message, file, undefined, { ...(hint ? { hint } : {}), cause: error });
    throw error;
  }
}

const FormatSchema = z.looseObject({ format: z.string().optional() });

/**
 * A versioned record (run.json, card.json): its `format` is checked first, so a record another version
 * of reviewtune wrote is refused as such, not by the first field that differs; then the whole record
 * by `schema`. A record without `format` predates the field and is read as the current version.
 */
export function readRecordFile<S extends z.ZodType>(file: string, format: string, schema: S, hint: string): z.output<S> {
  // One read and one JSON parse: the loose format check keeps every field for the schema.
  const record = readJsonFile(file, FormatSchema, hint);
  if (record.format !== undefined && record.format !== format) {
    throw new DataError(`${file} is a "${record.format}" record; this version of reviewtune reads "${format}"`, file, undefined, { hint });
  }
  const parsed = schema.safeParse(record);
  if (!parsed.success) throw new DataError(`${file}: ${formatIssues(parsed.error).join("; ")}`, file, undefined, { hint });
  return parsed.data;
}

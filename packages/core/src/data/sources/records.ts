// Raw records out of a user's file, streamed: CSV/TSV (csv-parse), JSONL (line by line) or a JSON
// array (stream-json), so a file of millions of rows needs no more memory than one row. Each record
// carries where it came from, so every later rejection can name the file and line.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { extname } from "node:path";
import { createInterface } from "node:readline";
import { parse as parseCsv } from "csv-parse";
import chain from "stream-chain";
import { parser as jsonParser } from "stream-json";
import { streamArray } from "stream-json/streamers/stream-array.js";
import { DataError } from "../../errors.js";

export type RecordFormat = "csv" | "tsv" | "jsonl" | "json";

export interface SourceRecord {
  file: string;
  /** 1-based line (JSONL; CSV: the line where the record ends) or item number (JSON array). */
  line: number;
  /** "line" or "item": how `line` counts. */
  unit: "line" | "item";
  value: Record<string, unknown>;
}

/** A record that could not be read at all (broken quoting, a truncated JSON line). */
export interface MalformedRecord {
  file: string;
  line: number;
  unit: "line" | "item";
  reason: string;
}

export interface ReadOptions {
  /** Continue past unreadable records (reported through onMalformed) instead of stopping. */
  skipBadRows?: boolean;
  onMalformed?: (record: MalformedRecord) => void;
}

export function recordFormat(file: string): RecordFormat {
  const extension = extname(file).toLowerCase();
  if (extension === ".csv") return "csv";
  if (extension === ".tsv") return "tsv";
  if (extension === ".jsonl" || extension === ".ndjson") return "jsonl";
  if (extension === ".json") return "json";
  throw new DataError(`${file}: unknown file type "${extension || "(none)"}"`, file, undefined, {
    hint: "use .csv, .tsv, .jsonl (one JSON object per line) or .json (an array of objects); `data build --input` also reads .xml (SemEval-2014 aspect terms)",
  });
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** Streams the records of `file`; throws DataError at the first unreadable one unless skipBadRows. */
export async function* readRecords(file: string, options: ReadOptions = {}): AsyncGenerator<SourceRecord> {
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) throw new DataError(`input file ${file} does not exist`, file, undefined, { hint: "check --input" });
  const format = recordFormat(file);
  const malformed = (line: number, unit: "line" | "item", reason: string) => {
    if (!options.skipBadRows) {
      throw new DataError(`${file}:${unit === "item" ? `item ${line}` : line}: ${reason}`, file, line, {
        hint: "fix the file, or pass --skip-bad-rows to report such rows and continue",
      });
    }
    options.onMalformed?.({ file, line, unit, reason });
  };
  if (format === "jsonl") yield* readJsonLines(file, malformed);
  else if (format === "json") yield* readJsonArray(file, malformed);
  else yield* readDelimited(file, format === "tsv" ? "\t" : ",", malformed, options.skipBadRows ?? false);
}

type Malformed = (line: number, unit: "line" | "item", reason: string) => void;

async function* readJsonLines(file: string, malformed: Malformed): AsyncGenerator<SourceRecord> {
  let line = 0;
  for await (const text of createInterface({ input: createReadStream(file, "utf8"), crlfDelay: Infinity })) {
    line += 1;
    if (!text.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      malformed(line, "line", `not valid JSON (${(error as Error).message})`);
      continue;
    }
    if (!isObject(value)) {
      malformed(line, "line", "expected a JSON object");
      continue;
    }
    yield { file, line, unit: "line", value };
  }
}

async function* readJsonArray(file: string, malformed: Malformed): AsyncGenerator<SourceRecord> {
  let item = 0;
  try {
    for await (const { value } of chain([createReadStream(file), jsonParser(), streamArray()]) as AsyncIterable<{ key: number; value: unknown }>) {
      item += 1;
      if (!isObject(value)) {
        malformed(item, "item", "expected a JSON object");
        continue;
      }
      yield { file, line: item, unit: "item", value };
    }
  } catch (error) {
    if (error instanceof DataError) throw error;
    // A broken array cannot be read past the break: report it even with skipBadRows.
    throw new DataError(`${file}: not a valid JSON array (${(error as Error).message}; ${item} item(s) read before it)`, file, item + 1, {
      hint: "a .json input must be one array of objects; for one object per line use .jsonl",
    });
  }
}

async function* readDelimited(file: string, delimiter: string, malformed: Malformed, skipBadRows: boolean): AsyncGenerator<SourceRecord> {
  let lastReported = -1; // csv-parse may raise several errors for one broken line: report it once
  const csv = createReadStream(file).pipe(
    parseCsv({
      delimiter,
      columns: (header: string[]) => header.map((name) => name.trim()),
      bom: true,
      info: true,
      skip_empty_lines: true,
      // A row with the wrong number of fields is skipped and reported when asked; otherwise it stops.
      skip_records_with_error: skipBadRows,
      on_skip: (error) => {
        const line = (error as { lines?: number } | undefined)?.lines ?? 0;
        if (line !== lastReported) malformed(line, "line", error?.message ?? "unreadable row");
        lastReported = line;
        return undefined;
      },
    }),
  );
  try {
    for await (const { record, info } of csv as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      yield { file, line: info.lines, unit: "line", value: record };
    }
  } catch (error) {
    if (error instanceof DataError) throw error;
    const line = (error as { lines?: number }).lines ?? 0;
    throw new DataError(`${file}:${line}: ${(error as Error).message}`, file, line, {
      hint: "check the quoting and the number of fields on this line (a field with commas, quotes or newlines must be in double quotes, inner quotes doubled), or pass --skip-bad-rows",
    });
  }
}

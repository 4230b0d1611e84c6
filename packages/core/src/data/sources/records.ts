// Raw records out of a user's file, streamed: CSV/TSV (csv-parse), JSONL (line by line) or a JSON
// array (stream-json), so a file of millions of rows needs no more memory than one row. Each record
// carries where it came from, so every later rejection can name the file and line.
import { createReadStream } from "node:fs";
import { open, readdir, stat } from "node:fs/promises";
import { extname, join } from "node:path";
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
  /** The last line of an unreadable span (a quote that swallowed the lines after it): each of its lines counts as a row lost. */
  lastLine?: number;
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
  if (info?.isDirectory()) {
    const inside = (await readdir(file).catch(() => [] as string[])).filter((name) => /\.(csv|tsv|jsonl|ndjson|json|xml)$/i.test(name)).sort();
    const listed = inside.length > 0 ? `: ${inside.slice(0, 5).map((name) => `--input ${join(file, name)}`).join(" ")}${inside.length > 5 ? ` ... (${inside.length} files)` : ""}` : " (.csv, .tsv, .jsonl, .json or .xml)";
    throw new DataError(`input ${file} is a folder, not a review file`, file, undefined, { hint: `pass its files, one --input each${listed}` });
  }
  if (!info?.isFile()) throw new DataError(`input file ${file} does not exist`, file, undefined, { hint: "check --input" });
  const format = recordFormat(file);
  await checkIsText(file);
  const malformed: Malformed = (line, unit, reason, lastLine) => {
    if (!options.skipBadRows) {
      const where = unit === "item" ? `item ${line}` : lastLine !== undefined && lastLine > line ? `${line}-${lastLine}` : line;
      throw new DataError(`${file}:${where}: ${reason}`, file, line, {
        hint: "fix the file, or pass --skip-bad-rows to report such rows and continue",
      });
    }
    options.onMalformed?.({ file, line, unit, reason, ...(lastLine !== undefined && lastLine > line ? { lastLine } : {}) });
  };
  if (format === "jsonl") yield* readJsonLines(file, malformed);
  else if (format === "json") yield* readJsonArray(file, malformed);
  else yield* readDelimited(file, format === "tsv" ? "\t" : await csvDelimiter(file), malformed, options.skipBadRows ?? false);
}

/**
 * A .csv file's delimiter, from its header line: a semicolon where the header has more of them than
 * commas outside quotes (spreadsheets in locales whose decimal mark is a comma save CSV that way),
 * else a comma. The header decides because column names rarely hold either.
 */
export async function csvDelimiter(file: string): Promise<"," | ";"> {
  const handle = await open(file, "r");
  let head: string;
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    head = buffer.subarray(0, bytesRead).toString("utf8");
  } finally {
    await handle.close();
  }
  let commas = 0;
  let semicolons = 0;
  let quoted = false;
  for (const character of head) {
    if (character === '"') quoted = !quoted;
    else if (!quoted && (character === "\n" || character === "\r")) break;
    else if (!quoted && character === ",") commas += 1;
    else if (!quoted && character === ";") semicolons += 1;
  }
  return semicolons > commas ? ";" : ",";
}

/**
 * Refuses, before any row is read, a file that is not UTF-8 text: UTF-16 (Excel's "Unicode text")
 * would be read as one header of NULs and garbage, and a binary file as rows of it. A stray NUL or
 * control character in a text file is left to the rows (cleaned from reviews, see cleanText).
 */
async function checkIsText(file: string): Promise<void> {
  const handle = await open(file, "r");
  const { buffer, bytesRead } = await handle.read(Buffer.alloc(4096), 0, 4096, 0).finally(() => handle.close());
  const head = buffer.subarray(0, bytesRead);
  const hint = "save it as UTF-8 text (in Excel: Save As > CSV UTF-8; or `iconv -f UTF-16 -t UTF-8 in.csv > out.csv`)";
  const bom = head[0] === 0xff && head[1] === 0xfe ? "UTF-16 LE" : head[0] === 0xfe && head[1] === 0xff ? "UTF-16 BE" : undefined;
  // UTF-16 without a byte order mark: ASCII text with a NUL beside every character.
  const pairs = Math.floor(bytesRead / 2);
  const nulHalves = (offset: number) => Array.from({ length: pairs }, (_, index) => head[2 * index + offset]).filter((byte) => byte === 0).length;
  const bomless = pairs >= 4 && (nulHalves(0) > 0.8 * pairs || nulHalves(1) > 0.8 * pairs) ? "UTF-16" : undefined;
  if (bom ?? bomless) throw new DataError(`${file} is ${bom ?? bomless} text, not UTF-8`, file, undefined, { hint });
  const control = head.filter((byte) => byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d && byte !== 0x0c).length;
  if (bytesRead > 0 && control > Math.max(2, 0.05 * bytesRead)) {
    throw new DataError(`${file} does not look like text: ${control} of its first ${bytesRead} bytes are control bytes (a binary or compressed file?)`, file, undefined, {
      hint: "pass the uncompressed .csv, .tsv, .jsonl or .json file, in UTF-8",
    });
  }
}

type Malformed = (line: number, unit: "line" | "item", reason: string, lastLine?: number) => void;

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

/**
 * The first line of a record that ends on line `end`, from its raw text: csv-parse counts lines at
 * the end of a record, and a quoted field may run over several (leading blank lines are not its).
 */
function firstLine(end: number, raw: string | undefined): number {
  if (!raw) return end;
  const body = raw.replace(/^(\r?\n)+/, "").replace(/\r?\n$/, "");
  return end - (body.match(/\n/g)?.length ?? 0);
}

const isNumber = (value: string) => value.trim() !== "" && Number.isFinite(Number(value));

/**
 * Whether a record read over several lines is really several rows merged by an unbalanced quote:
 * each of its lines, split at the delimiter, reads as a whole row: the header's number of fields,
 * none empty, and a number wherever the rows read so far always had one (the rating). The quote
 * opened on the first line then swallowed whole rows, which would otherwise be read as one review
 * with the others in its text. A review whose text runs over lines fails one of these ("Great,\nbut
 * it broke": an empty field, then a line whose second field is not the rating's number).
 */
function looksMerged(raw: string, delimiter: string, columns: number, numericColumns: ReadonlySet<number>): boolean {
  if (columns < 2) return false;
  const lines = raw.replace(/^(\r?\n)+/, "").replace(/\r?\n$/, "").split(/\r?\n/);
  return (
    lines.length > 1 &&
    lines.every((line) => {
      const fields = line.split(delimiter).map((field) => field.replace(/^"|"$/g, ""));
      return fields.length === columns && fields.every((field, index) => field.trim() !== "" && (!numericColumns.has(index) || isNumber(field)));
    })
  );
}

async function* readDelimited(file: string, delimiter: string, malformed: Malformed, skipBadRows: boolean): AsyncGenerator<SourceRecord> {
  let lastReported = -1; // csv-parse may raise several errors for one broken line: report it once
  let numericColumns: Set<number> | undefined; // positions holding a number (or nothing) in every row read so far
  const csv = createReadStream(file).pipe(
    parseCsv({
      delimiter,
      columns: (header: string[]) => header.map((name) => name.trim()),
      bom: true,
      info: true,
      raw: true, // to know where a record starts, so a broken one is reported with all the lines it took
      skip_empty_lines: true,
      // A row with the wrong number of fields is skipped and reported when asked; otherwise it stops.
      skip_records_with_error: skipBadRows,
      on_skip: (error, raw) => {
        const line = (error as { lines?: number } | undefined)?.lines ?? 0;
        const first = firstLine(line, raw);
        const reason = error?.message ?? "unreadable row";
        if (line !== lastReported) {
          // A quote left open swallows the lines after it up to the next quote: all of them are lost rows.
          malformed(first, "line", first < line ? `${reason} (a quote opened on line ${first} runs to line ${line}: ${line - first + 1} lines unreadable)` : reason, line);
        }
        lastReported = line;
        return undefined;
      },
    }),
  );
  try {
    for await (const { record, info, raw } of csv as AsyncIterable<{ record: Record<string, string>; info: { lines: number }; raw: string }>) {
      const first = firstLine(info.lines, raw);
      const values = Object.values(record);
      if (first < info.lines && looksMerged(raw, delimiter, values.length, numericColumns ?? new Set())) {
        malformed(
          first,
          "line",
          `a quoted field opened on line ${first} runs to line ${info.lines}, and each of these lines reads as a whole row: an unbalanced quote merged ${info.lines - first + 1} rows into one (close the quote, or double a quote inside a field: "")`,
          info.lines,
        );
        continue;
      }
      const numeric = values.flatMap((value, index) => (isNumber(value) || value.trim() === "" ? [index] : []));
      numericColumns = new Set(numericColumns ? numeric.filter((index) => numericColumns!.has(index)) : numeric.filter((index) => isNumber(values[index]!)));
      yield { file, line: info.lines, unit: "line", value: record };
    }
  } catch (error) {
    if (error instanceof DataError) throw error;
    const line = (error as { lines?: number }).lines ?? 0;
    const first = firstLine(line, (error as { raw?: string }).raw);
    const where = first < line ? `${first}-${line}` : `${line}`;
    throw new DataError(`${file}:${where}: ${(error as Error).message}${first < line ? ` (a quote opened on line ${first} is still open on line ${line})` : ""}`, file, first, {
      hint: "check the quoting and the number of fields on this line (a field with commas, quotes or newlines must be in double quotes, inner quotes doubled), or pass --skip-bad-rows",
    });
  }
}

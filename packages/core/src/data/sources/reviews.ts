// Raw records -> validated reviews. Columns are found by a user's mapping or by common names
// (Amazon Reviews 2023's rating/title/text/parent_asin among them); text is cleaned of HTML; every
// record that cannot become a review is a Rejection with file, line and reason, never dropped
// silently.
import { decodeHTML } from "entities";
import { ConfigError } from "../../errors.js";
import type { RejectReason, Rejection, Review } from "@reviewtune/contracts";
import type { MalformedRecord, SourceRecord } from "./records.js";
import { sha256Bytes, wordLE } from "../digest.js";

export type { RejectReason, Rejection, Review };

export const REVIEW_FIELDS = ["id", "text", "title", "rating", "category", "product_id", "product_title"] as const;
export type ReviewField = (typeof REVIEW_FIELDS)[number];
export type ColumnMapping = Partial<Record<ReviewField, string>>;

/** Common column names, in order of preference (lower-cased, compared without spaces/underscores). */
const KNOWN_COLUMNS: Record<ReviewField, string[]> = {
  id: ["review_id", "reviewid", "id"],
  text: ["text", "review_text", "reviewtext", "review_body", "review", "body", "content", "comment"],
  title: ["review_title", "title", "summary", "headline", "review_headline"],
  rating: ["rating", "stars", "star_rating", "overall", "score", "review_score"],
  category: ["category", "product_category", "main_category", "categories"],
  product_id: ["parent_asin", "asin", "product_id", "productid", "item_id", "sku"],
  product_title: ["product_title", "product_name", "item_name"],
};
const squash = (name: string) => name.toLowerCase().replace(/[\s_-]+/g, "");

/** Resolves the mapping for a header: the user's choices first, then the known names. */
export function resolveColumns(header: string[], mapping: ColumnMapping = {}, file = "input"): Record<ReviewField, string | undefined> {
  const byKey = new Map(header.map((name) => [squash(name), name]));
  const resolved = {} as Record<ReviewField, string | undefined>;
  for (const field of REVIEW_FIELDS) {
    const wanted = mapping[field];
    if (wanted !== undefined) {
      if (!header.includes(wanted)) {
        throw new ConfigError(`${file}: the column "${wanted}" given for ${field} is not in the header`, [], {
          hint: `the columns are: ${header.join(", ")}`,
        });
      }
      resolved[field] = wanted;
    } else {
      resolved[field] = KNOWN_COLUMNS[field].map((name) => byKey.get(squash(name))).find((name) => name !== undefined);
    }
  }
  if (!resolved.text) {
    throw new ConfigError(`${file}: no review text column found`, [], {
      hint: `name it with --column text=<name>; the columns are: ${header.join(", ")}`,
    });
  }
  return resolved;
}

/**
 * Why a string cannot go to a tokenizer or be trusted as UTF-8, or undefined when it can: a lone
 * UTF-16 surrogate (a JSON "\ud800" escape, half an emoji) makes the tokenizers fail later with no
 * file or line, and U+FFFD means the file was not valid UTF-8 where it was read.
 */
export function encodingProblem(value: string): string | undefined {
  const lone = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.exec(value);
  if (lone) return `a lone UTF-16 surrogate (\\u${lone[0].charCodeAt(0).toString(16)}) at character ${lone.index + 1}, half of a character (an emoji cut in two?): mend or remove it`;
  const replacement = value.indexOf("\ufffd");
  if (replacement >= 0) return `a U+FFFD replacement character at character ${replacement + 1}: the file is not valid UTF-8 there; re-save it as UTF-8`;
  return undefined;
}

/**
 * Control characters other than tab and line breaks (NUL, ESC of a terminal escape, DEL, C1):
 * invisible in a review, able to drive a terminal when a review is printed. Removed from text.
 */
export const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;

/** Two numeric character references in a row, decimal or hex: `&#55357;&#56842;`. */
const NUMERIC_PAIR = /&#(\d+|x[0-9a-f]+);&#(\d+|x[0-9a-f]+);/gi;
const codeOf = (reference: string) => (reference[0] === "x" || reference[0] === "X" ? parseInt(reference.slice(1), 16) : parseInt(reference, 10));

/**
 * An emoji written as its two UTF-16 halves, each a numeric reference (`&#55357;&#56842;` for 😊,
 * what some exporters write): as one reference to the character. HTML decodes each half on its own
 * to U+FFFD, and the row was rejected as "not valid UTF-8, re-save it", which no re-saving mends.
 */
function joinSurrogateReferences(text: string): string {
  return text.replace(NUMERIC_PAIR, (whole, high: string, low: string) => {
    const [first, second] = [codeOf(high), codeOf(low)];
    if (first < 0xd800 || first > 0xdbff || second < 0xdc00 || second > 0xdfff) return whole;
    return `&#${0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00)};`;
  });
}

/**
 * Whether cleanText could change a text: an entity or tag, a carriage return, a tab, a no-break
 * space, one of the CONTROL_CHARACTERS it removes (the same class, so the two cannot drift apart), a
 * run of spaces, spaces beside a line break, three line breaks, or space to trim. A text with none
 * of them is already clean: its ten passes were half of validating a review, and most reviews are
 * clean (sources.test checks both ways agree). Without the g flag, so test() keeps no state.
 */
const UNCLEAN = new RegExp(`[&<\\r\\t\\u00a0]|${CONTROL_CHARACTERS.source}| [ \\n]|\\n |\\n\\n\\n|^\\s|\\s$`);

/** Decodes HTML entities, turns <br> and block tags into line breaks, drops other tags and control characters, trims spaces. */
export function cleanText(raw: string): string {
  return UNCLEAN.test(raw) ? cleanTextPasses(raw) : raw;
}

/** cleanText's passes, run on any text: what cleanText gives without its test (exported for sources.test). */
export function cleanTextPasses(raw: string): string {
  return decodeHTML(
    (raw.includes("&#") ? joinSurrogateReferences(raw) : raw)
      .replace(/\r\n?/g, "\n")
      .replace(/<\s*br\s*\/?\s*>/gi, "\n")
      .replace(/<\/\s*(p|div|li)\s*>/gi, "\n")
      .replace(/<[^>]{1,200}>/g, ""),
  )
    .replace(CONTROL_CHARACTERS, "")
    .replace(/\u00a0/g, " ")
    .replace(/[ \t]+/g, " ")
    .replace(/ *\n */g, "\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

/** How many rows a rejection stands for: one, or every line of an unreadable span. */
export const rejectedRows = (rejection: Pick<Rejection, "line" | "last_line">): number => (rejection.last_line !== undefined ? rejection.last_line - rejection.line + 1 : 1);



export interface ValidationOptions {
  mapping?: ColumnMapping;
  /** Reviews longer than this many characters are rejected as too_long. */
  maxChars?: number;
  /**
   * "reject" (the default, for datasets: a repeated review would leak between splits) or "keep"
   * (`reviewtune analyze`: every row of the user's file gets its analysis, repeated or not).
   */
  duplicates?: "reject" | "keep";
  /** Shared by the validators of a build's files, so a review repeated in another file is a duplicate too. */
  seen?: DuplicateIndex;
}

const text = (value: unknown): string | undefined => {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.map(String).join(" > "); // Amazon's categories list
  return String(value);
};

/** A short field (id, category) without control characters: it is printed in the card and by the CLI. */
const plain = (value: string | undefined) => value?.replace(CONTROL_CHARACTERS, "").trim();

/**
 * Where each accepted review's title and text were first seen, across every input of a build (a
 * review repeated in a second file would otherwise land in two splits). The only state of a build
 * that grows with the input: 96 bits of the text's SHA-256 (two distinct reviews share them with a
 * chance of 1 in 10^15 among ten million) and the file and line, in an open-addressing table of typed
 * arrays: 18 bytes a slot, at most 2/3 full, 27-54 bytes a review. Typed arrays keep it off the
 * JavaScript heap, whose garbage collector sizes the heap by what lives on it: with a Map of a
 * million keys there (~75 MB) the build's main thread grew to 300+ MB.
 */
export class DuplicateIndex {
  private readonly files: string[] = [];
  /** Three 32-bit words of digest per slot. */
  private keys = new Uint32Array(3 * 1024);
  /** The line + 1 per slot (0: the slot is empty). */
  private lines = new Uint32Array(1024);
  /** The file's index in `files` per slot. */
  private fileIndexes = new Uint16Array(1024);
  private size = 0;

  /** Where `digest` (a SHA-256 digest from sha256Bytes) was first seen, or undefined after remembering `file`:`line` for it. */
  firstSeen(digest: string, file: string, line: number): { file: string; line: number } | undefined {
    const words = [wordLE(digest, 0), wordLE(digest, 4), wordLE(digest, 8)] as const;
    const slot = this.find(words);
    if (this.lines[slot] !== 0) return { file: this.files[this.fileIndexes[slot]!]!, line: this.lines[slot]! - 1 };
    let index = this.files.lastIndexOf(file);
    if (index < 0) index = this.files.push(file) - 1;
    if (index >= 2 ** 16 || line + 1 >= 2 ** 32) throw new RangeError(`a build reads at most ${2 ** 16} files of at most ${2 ** 32 - 2} lines (${file}:${line})`);
    this.keys.set(words, slot * 3);
    this.lines[slot] = line + 1;
    this.fileIndexes[slot] = index;
    if (++this.size * 3 > this.lines.length * 2) this.grow();
    return undefined;
  }

  /** The slot holding `words`, or the empty slot where they belong (linear probing; the digest is already uniform). */
  private find(words: readonly [number, number, number]): number {
    const mask = this.lines.length - 1;
    for (let slot = words[0] & mask; ; slot = (slot + 1) & mask) {
      if (this.lines[slot] === 0) return slot;
      const at = slot * 3;
      if (this.keys[at] === words[0] && this.keys[at + 1] === words[1] && this.keys[at + 2] === words[2]) return slot;
    }
  }

  private grow(): void {
    const [keys, lines, fileIndexes] = [this.keys, this.lines, this.fileIndexes];
    this.keys = new Uint32Array(keys.length * 2);
    this.lines = new Uint32Array(lines.length * 2);
    this.fileIndexes = new Uint16Array(fileIndexes.length * 2);
    for (let slot = 0; slot < lines.length; slot++) {
      if (lines[slot] === 0) continue;
      const words = [keys[slot * 3]!, keys[slot * 3 + 1]!, keys[slot * 3 + 2]!] as const;
      const to = this.find(words);
      this.keys.set(words, to * 3);
      this.lines[to] = lines[slot]!;
      this.fileIndexes[to] = fileIndexes[slot]!;
    }
  }
}

/** Validates records one at a time (streaming); duplicates are found by a DuplicateIndex, which may be shared by several files' validators. */
export class ReviewValidator {
  private columns: Record<ReviewField, string | undefined> | undefined;
  private header: string[] = [];
  private readonly seen: DuplicateIndex;
  readonly rejections: Rejection[] = [];

  constructor(private readonly options: ValidationOptions = {}) {
    this.seen = options.seen ?? new DuplicateIndex();
  }

  /** The file's columns as read (the field each feeds, and the others), once a record has been seen. */
  mappedColumns(): { mapped: Record<string, string>; unused: string[] } | undefined {
    if (!this.columns) return undefined;
    const mapped = Object.fromEntries(Object.entries(this.columns).filter((entry): entry is [string, string] => entry[1] !== undefined));
    const used = new Set(Object.values(mapped));
    return { mapped, unused: this.header.filter((name) => !used.has(name)) };
  }

  /** Returns the review, or undefined after recording why the record was rejected. */
  accept(record: SourceRecord): Review | undefined {
    if (!this.columns) {
      this.header = Object.keys(record.value);
      this.columns = resolveColumns(this.header, this.options.mapping, record.file);
    }
    const columns = this.columns;
    const get = (field: ReviewField) => (columns[field] ? text(record.value[columns[field]]) : undefined);
    const reject = (reason: RejectReason, detail: string) => {
      this.rejections.push({ file: record.file, line: record.line, unit: record.unit, reason, detail });
      return undefined;
    };

    // Every field that reaches a prompt is checked, so nothing later (a tokenizer) trips on it.
    for (const field of ["text", "title", "product_title", "category", "product_id", "id"] as const) {
      const value = get(field);
      const problem = value === undefined ? undefined : encodingProblem(value);
      if (problem) return reject("bad_encoding", `column "${columns[field]}" holds ${problem}`);
    }
    const rawText = get("text") ?? "";
    const body = cleanText(rawText);
    if (!body) return reject("empty_text", `column "${columns.text}" is empty`);
    if (this.options.maxChars && body.length > this.options.maxChars) {
      return reject("too_long", `${body.length} characters, over the limit of ${this.options.maxChars}`);
    }

    let rating: number | undefined;
    const rawRating = get("rating")?.trim();
    if (rawRating) {
      rating = Number(rawRating);
      if (!Number.isFinite(rating)) return reject("rating_out_of_range", `rating "${rawRating}" (column "${columns.rating}") is not a number: stars are 1 to 5 (--column rating=<name> when the stars are in another column)`);
      if (rating < 1 || rating > 5) return reject("rating_out_of_range", `rating "${rawRating}" is not between 1 and 5`);
    }

    const title = get("title") ? cleanText(get("title")!) : undefined;
    const digest = sha256Bytes(`${(title ?? "").toLowerCase()}\n${body.toLowerCase().replace(/\s+/g, " ")}`);
    if (this.options.duplicates !== "keep") {
      const first = this.seen.firstSeen(digest, record.file, record.line);
      if (first) return reject("duplicate", `same ${title ? "title and text" : "text"} as ${first.file}:${record.unit === "item" && first.file === record.file ? "item " : ""}${first.line}`);
    }

    const review: Review = {
      id: plain(get("id")) || Buffer.from(digest.slice(0, 6), "latin1").toString("hex"),
      text: body,
      source: { file: record.file, line: record.line, unit: record.unit },
    };
    if (title) review.title = title;
    if (rating !== undefined) review.rating = rating;
    const category = plain(get("category"));
    if (category) review.category = category;
    const productId = plain(get("product_id"));
    if (productId) review.product_id = productId;
    const productTitle = get("product_title");
    if (productTitle) review.product_title = cleanText(productTitle);
    return review;
  }

  /** Rejection counts by reason, for the dataset card. */
  counts(): Record<RejectReason, number> {
    const counts: Record<RejectReason, number> = { empty_text: 0, rating_out_of_range: 0, bad_encoding: 0, duplicate: 0, too_long: 0, malformed: 0, too_short: 0 };
    for (const rejection of this.rejections) counts[rejection.reason] += 1;
    return counts;
  }

  /** Records a record the reader could not parse (with --skip-bad-rows). */
  malformed(record: MalformedRecord): void {
    const { lastLine, reason, ...where } = record;
    this.rejections.push({ ...where, ...(lastLine !== undefined ? { last_line: lastLine } : {}), reason: "malformed", detail: reason });
  }
}

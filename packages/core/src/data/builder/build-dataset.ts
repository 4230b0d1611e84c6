// `reviewtune data build`: review files in, a dataset folder out, in one streaming pass:
//   read (records.ts; semeval.ts for SemEval aspect XML) -> validate (reviews.ts) -> label (analyzer.ts) -> split (splits.ts) ->
//   augment (augment.ts) -> train.jsonl / val.jsonl / test.jsonl, reviews.jsonl, rejected.jsonl,
//   card.json + card.md.
// Everything is written into a staging folder that is renamed into place only when complete, so
// an interrupted build never leaves a folder that looks finished.
import { createHash, hash } from "node:crypto";
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync, write as fsWrite, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { promisify } from "node:util";
import { stagingPath } from "../../files.js";
import { SPLIT_FILES, datasetPath } from "../dataset-folder.js";
import { CancelledError, ConfigError, DataError } from "../../errors.js";
import { REVIEW_TASKS } from "../augment/answers.js";
import { ANALYSIS_TASK, analysisExample, reviewExampleLines, reviewExamples } from "../augment/augment.js";
import { analyzeReview, type ReviewLabels } from "../labels/analyzer.js";
import { BATCHES_PER_THREAD, LabelPool, defaultLabelThreads } from "../labels/label-pool.js";
import { orderedMap, type Teacher } from "../labels/teacher.js";
import { detectKind, instructionRow, type InputKind, type InstructionRow } from "../sources/instructions.js";
import { readRecords, type MalformedRecord } from "../sources/records.js";
import { goldAspects, isSemEvalFile, readSemEvalSentences, semEvalCategory, semEvalReviewId, withGoldAspects } from "../sources/semeval.js";
import { DuplicateIndex, ReviewValidator, cleanText, rejectedRows, type ColumnMapping, type Rejection, type Review } from "../sources/reviews.js";
import { countWords } from "../words.js";
import { StratifiedSplitter, lengthBucket, type SplitName } from "./splits.js";
import type { ChatExample, TokenBudget } from "./token-budget.js";
import { DatasetCardBuilder, accountingLine, renderCardMarkdown, type DatasetCard, type TeacherCard } from "./card.js";

export interface BuildOptions extends WriteOptions {
  inputs: string[];
  /** Amazon Reviews 2023 meta files (parent_asin, title, main_category): product titles and categories by parent_asin. */
  meta?: string[];
  mapping?: ColumnMapping;
  skipBadRows?: boolean;
  /** Reviews, answers and descriptions longer than this many characters are rejected (default 20,000). */
  maxChars?: number;
  /** QA answers (question/answer rows) with more words than this are rejected as too_long. */
  maxAnswerWords?: number | undefined;
  /** Label with an LLM teacher over the rule-based analyzer (connected already: see Teacher.connect). */
  teacher?: Teacher | undefined;
  /**
   * Threads that run the analyzer: 0 labels on the main thread; without it, one per core but one when the
   * inputs hold at least POOL_MIN_BYTES (a smaller build is over before the threads have loaded
   * wink's model). The output is the same bytes either way.
   */
  workers?: number | undefined;
  /**
   * Called once labeling is done with how busy the label threads were and the share of the reviews
   * the main thread labeled itself (`bench data` prints them); not with 0 threads.
   */
  onLabelThreads?: ((stats: { threads: number; busy: number; mainThreadShare: number }) => void) | undefined;
}

/** Inputs at least this large are labeled on a thread pool unless `workers` says otherwise (about 5,000 short reviews). */
export const POOL_MIN_BYTES = 2 * 2 ** 20;
/** Reviews per task sent to a label thread: enough to make a message's cost small against the analyzer's. */
const LABEL_BATCH = 128;
/** Batches labeled on the main thread that may wait in the build's window (for the pool's before them), beside the pool's. */
const MAIN_THREAD_BATCHES = 4;

/**
 * JSON lines into a file, encoded straight into one of two reused buffers: while one is written
 * (by libuv, off this thread), lines fill the other. The lines were gathered into 256K-character
 * strings before, each flattened and encoded into a fresh Buffer: a large string and a large Buffer
 * to collect for every 256 KB of the ~5 KB a review writes. Split, examples and writes went from
 * 57-62 to 44-56 us a review, and a 200,000-row build from 565,000 to 260,000 page faults (README,
 * Performance). Memory is the two buffers.
 */
class LineWriter {
  private static readonly BUFFER_BYTES = 256 * 1024;
  private readonly fd: number;
  private buffer = Buffer.allocUnsafe(LineWriter.BUFFER_BYTES);
  private spare = Buffer.allocUnsafe(LineWriter.BUFFER_BYTES);
  private used = 0;
  /** The write of `spare`'s bytes in flight, if any. */
  private writing: Promise<void> = Promise.resolve();
  private closed = false;
  constructor(file: string) {
    // Opened here, in the staging folder that exists by now: a failed build closes it (discard).
    this.fd = openSync(file, "w");
  }
  async write(value: unknown): Promise<void> {
    await this.writeJson(JSON.stringify(value));
  }
  /** A line already in JSON. A promise only when the line had to wait for a buffer (await it then). */
  writeJson(json: string): Promise<void> | undefined {
    // UTF-8 takes at most 3 bytes a UTF-16 code unit (a surrogate pair: 4 bytes for 2).
    if (this.used + 3 * json.length + 1 > this.buffer.length) return this.writeAfterFlush(json);
    this.used += this.buffer.write(json, this.used);
    this.buffer[this.used++] = 0x0a;
    return undefined;
  }
  private async writeAfterFlush(json: string): Promise<void> {
    await this.flush();
    if (3 * json.length + 1 <= this.buffer.length) {
      this.writeJson(json);
      return;
    }
    // A line longer than a buffer (a 20,000-character review quoted in a prompt) is written alone.
    await this.writing;
    const bytes = Buffer.from(`${json}\n`);
    this.writing = writeAll(this.fd, bytes, bytes.length);
  }
  /** Hands the filled buffer to a write, after the one before has finished with the other buffer. */
  private async flush(): Promise<void> {
    await this.writing;
    if (this.used === 0) return;
    const [full, used] = [this.buffer, this.used];
    [this.buffer, this.spare, this.used] = [this.spare, full, 0];
    this.writing = writeAll(this.fd, full, used);
    // Awaited at the next flush or at close; not an unhandled rejection before that.
    this.writing.catch(() => undefined);
  }
  async close(): Promise<void> {
    await this.flush();
    await this.writing;
    this.closed = true;
    closeSync(this.fd);
  }
  /** Stops a failed build's file before its staging folder is removed; the build's error is the one reported, not a write's. */
  async discard(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writing.catch(() => undefined);
    closeSync(this.fd);
  }
}

const writeAsync = promisify(fsWrite);

/** Writes `length` bytes of `buffer` at the file's position (fs.write may write a part at a time). */
async function writeAll(fd: number, buffer: Buffer, length: number): Promise<void> {
  for (let offset = 0; offset < length; ) offset += (await writeAsync(fd, buffer, offset, length - offset, null)).bytesWritten;
}

async function hashFile(file: string, hash: ReturnType<typeof createHash>): Promise<void> {
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
}

/** What a dataset is written from: a labeled review, or a row that was rejected. */
export type BuildEntry = { review: Review; labels: ReviewLabels } | { example: InstructionRow } | { rejection: Rejection };
/** What the readers give: a review from a review file still waits for its labels. */
type ReadEntry = BuildEntry | { review: Review; labels?: undefined };

export interface WriteOptions {
  out: string;
  /** Count tokens with this model's tokenizer and chat template, and fit examples into maxTokens. */
  tokens?: TokenBudget | undefined;
  /** The model's name for the card, with `tokens`. */
  tokenizerName?: string | undefined;
  force?: boolean;
  validation?: number;
  test?: number;
  seed?: number;
  heldOutCategory?: string | undefined;
  onProgress?: (reviews: number, rejected: number) => void;
  /** Ctrl-C: the build stops at the next row, removes its staging folder and throws CancelledError. */
  signal?: AbortSignal | undefined;
}

interface ProductInfo {
  title?: string;
  category?: string;
}

/** Product titles and categories by parent_asin (one small entry per product, not per review). */
async function readMeta(files: string[], skipBadRows: boolean): Promise<Map<string, ProductInfo>> {
  const products = new Map<string, ProductInfo>();
  for (const file of files) {
    for await (const { value } of readRecords(file, { skipBadRows })) {
      const id = value.parent_asin ?? value.asin;
      if (typeof id !== "string" || !id) continue;
      const info: ProductInfo = {};
      if (typeof value.title === "string" && value.title.trim()) info.title = cleanText(value.title);
      if (typeof value.main_category === "string" && value.main_category.trim()) info.category = value.main_category.trim();
      products.set(id, info);
    }
  }
  return products;
}

/**
 * A SemEval aspect file's sentences as reviews (no stars): the analyzer labels them, then the
 * annotated aspect terms replace its aspects and features (withGoldAspects). Texts go through the
 * same validator as any review (cleaning, empty, too long, duplicates: 12 of the laptop file's
 * sentences repeat another's text and would otherwise leak across splits); a repeated sentence id
 * is rejected too, since the id is the review's and splits are assigned by it.
 */
function* semEvalEntries(file: string, maxChars: number, rows: { read: number }, seen: DuplicateIndex): Generator<BuildEntry> {
  const validator = new ReviewValidator({ maxChars, seen });
  const category = semEvalCategory(file);
  const seenIds = new Map<string, number>();
  for (const sentence of readSemEvalSentences(file)) {
    rows.read += 1;
    const line = sentence.line ?? 0;
    const id = semEvalReviewId(file, sentence.id);
    const first = seenIds.get(id);
    if (first !== undefined) {
      yield { rejection: { file, line, unit: "line", reason: "duplicate", detail: `sentence id ${sentence.id} already used at ${file}:${first}` } };
      continue;
    }
    seenIds.set(id, line);
    const aspects = goldAspects(file, sentence);
    const review = validator.accept({ file, line, unit: "line", value: { id, text: sentence.text, ...(category ? { category } : {}) } });
    yield* validator.rejections.map((rejection) => ({ rejection }));
    validator.rejections.length = 0;
    if (review) yield { review, labels: withGoldAspects(analyzeReview(review), aspects) };
  }
}

/** Reads, validates and labels input files, one entry at a time; each file's kind comes from its first record (a .xml file is a SemEval aspect file). */
async function* labeledFromFiles(
  options: BuildOptions,
  inputHash: ReturnType<typeof createHash>,
  kinds: Map<string, InputKind | "semeval-aspects">,
  rows: { read: number },
  columns: NonNullable<DatasetCard["columns"]>,
): AsyncGenerator<ReadEntry> {
  const products = await readMeta(options.meta ?? [], options.skipBadRows ?? false);
  for (const file of options.meta ?? []) await hashFile(file, inputHash);
  const seen = new DuplicateIndex();
  // Instruction rows by prompt (their group), across all inputs: where each was first seen, and a hash of its answer.
  const seenGroups = new Map<string, { file: string; line: number; answer: string }>();
  const limits = { maxChars: options.maxChars ?? 20_000, maxAnswerWords: options.maxAnswerWords };
  for (const input of options.inputs) {
    if (isSemEvalFile(input)) {
      kinds.set(input, "semeval-aspects");
      yield* semEvalEntries(input, options.maxChars ?? 20_000, rows, seen);
      await hashFile(input, inputHash);
      continue;
    }
    const validator = new ReviewValidator({ ...(options.mapping ? { mapping: options.mapping } : {}), maxChars: options.maxChars ?? 20_000, seen });
    const drain = function* () {
      yield* validator.rejections.map((rejection) => ({ rejection }));
      validator.rejections.length = 0; // handed on: keep memory flat
    };
    // `yield* drain()` awaits even when nothing is rejected (a sync generator delegated to from an
    // async one): two per review were ~0.6 us of it. Only called with rejections to hand on.
    const rejected = () => validator.rejections.length > 0;
    let kind: InputKind | undefined;
    // Rows are counted here, as the reader gives them, apart from what becomes of them: the card checks the two agree.
    const onMalformed = (bad: MalformedRecord) => {
      rows.read += rejectedRows({ line: bad.line, last_line: bad.lastLine });
      validator.malformed(bad);
    };
    for await (const record of readRecords(input, { skipBadRows: options.skipBadRows ?? false, onMalformed })) {
      rows.read += 1;
      if (rejected()) yield* drain();
      kind ??= options.mapping && Object.keys(options.mapping).length > 0 ? "reviews" : detectKind(record.value);
      kinds.set(input, kind);
      if (kind === "reviews") {
        const review = validator.accept(record);
        if (rejected()) yield* drain();
        if (!review) continue;
        const product = review.product_id ? products.get(review.product_id) : undefined;
        if (product?.title && !review.product_title) review.product_title = product.title;
        if (product?.category && !review.category) review.category = product.category;
        yield { review };
        continue;
      }
      const row = instructionRow(kind, record, limits);
      if ("reason" in row) {
        yield { rejection: row };
        continue;
      }
      const answer = hash("sha256", row.messages.at(-1)!.content, "base64");
      const first = seenGroups.get(row.group);
      if (first) {
        // A prompt goes to one split with one answer: a second answer to it would teach two things, or leak.
        const where = `${first.file}:${first.line}`;
        const detail = first.answer === answer ? `same prompt and answer as ${where}` : `same prompt as ${where}, another answer (the first is kept)`;
        yield { rejection: { file: record.file, line: record.line, unit: record.unit, reason: "duplicate", detail } };
      } else {
        seenGroups.set(row.group, { file: record.file, line: record.line, answer });
        yield { example: row };
      }
    }
    yield* drain();
    const read = kind === "reviews" ? validator.mappedColumns() : undefined;
    if (read) columns.push({ input, ...read });
    await hashFile(input, inputHash);
  }
}

function labelThreads(options: BuildOptions): number {
  if (options.workers !== undefined) return options.workers;
  const bytes = options.inputs.reduce((sum, input) => sum + (existsSync(input) ? statSync(input).size : 0), 0);
  return bytes >= POOL_MIN_BYTES ? defaultLabelThreads() : 0;
}

async function* chunks<T>(items: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let chunk: T[] = [];
  for await (const item of items) {
    chunk.push(item);
    if (chunk.length >= size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

/**
 * The analyzer's labels for every review that waits for them: on `threads` worker threads, a few
 * batches in flight per thread and the order kept, or on this thread when `threads` is 0.
 *
 * With threads, this thread labels a batch itself whenever the threads already hold all the
 * batches they may (BATCHES_PER_THREAD each), instead of waiting for them: the work shares itself
 * between the threads and this one, whichever is faster on this machine and these reviews. On 2
 * cores the label thread was the slower side (96% busy, the main thread 77%); with the main thread
 * labeling ~20% of the reviews, both run near 100% and a build is 8-26% faster (README,
 * Performance). The labels are the same wherever they are made (analyzer.ts), so are the bytes.
 */
async function* withLabels(entries: AsyncIterable<ReadEntry>, threads: number, onStats?: BuildOptions["onLabelThreads"]): AsyncGenerator<BuildEntry> {
  const unlabeled = (entry: ReadEntry): entry is { review: Review; labels?: undefined } => "review" in entry && entry.labels === undefined;
  if (threads === 0) {
    for await (const entry of entries) yield unlabeled(entry) ? { review: entry.review, labels: analyzeReview(entry.review) } : entry;
    return;
  }
  const pool = new LabelPool(threads);
  const poolHolds = threads * BATCHES_PER_THREAD;
  const labeled = { total: 0, here: 0 };
  try {
    const batches = orderedMap(chunks(entries, LABEL_BATCH), poolHolds + MAIN_THREAD_BATCHES, async (chunk): Promise<BuildEntry[]> => {
      const reviews = chunk.filter(unlabeled).map((entry) => entry.review);
      if (reviews.length === 0) return chunk as BuildEntry[];
      labeled.total += reviews.length;
      const here = pool.pending() >= poolHolds;
      if (here) labeled.here += reviews.length;
      const labels = here
        ? reviews.map((review) => analyzeReview(review))
        : await pool.label(reviews).catch((error: unknown) => {
            const [first, last] = [reviews[0]!.source, reviews.at(-1)!.source];
            throw new Error(`labeling the reviews of ${first.file}:${first.line}-${last.line} failed on a label thread: ${(error as Error).message}`, { cause: error });
          });
      let next = 0;
      return chunk.map((entry) => (unlabeled(entry) ? { review: entry.review, labels: labels[next++]! } : entry));
    });
    for await (const batch of batches) yield* batch;
    onStats?.({ threads, busy: pool.busy(), mainThreadShare: labeled.total > 0 ? labeled.here / labeled.total : 0 });
  } finally {
    await pool.close();
  }
}

export async function buildDataset(options: BuildOptions): Promise<DatasetCard> {
  if (options.inputs.length === 0) throw new ConfigError("no input files", [], { hint: "pass --input <file> (repeatable)" });
  const inputHash = createHash("sha256");
  const kinds = new Map<string, InputKind | "semeval-aspects">();
  const rows = { read: 0 };
  const columns: NonNullable<DatasetCard["columns"]> = [];
  const config = {
    mapping: options.mapping ?? {},
    meta: (options.meta ?? []).map((file) => basename(file)),
    skip_bad_rows: options.skipBadRows ?? false,
    max_chars: options.maxChars ?? 20_000,
    max_answer_words: options.maxAnswerWords ?? null,
    teacher: options.teacher ? { url: options.teacher.options.url, model: options.teacher.model ?? null } : null,
  };
  const teacher = options.teacher;
  const labeled = withLabels(labeledFromFiles(options, inputHash, kinds, rows, columns), labelThreads(options), options.onLabelThreads);
  const entries = teacher
    ? orderedMap(labeled, teacher.concurrency, async (entry) =>
        "review" in entry ? { review: entry.review, labels: await teacher.label(entry.review, entry.labels) } : entry,
      )
    : labeled;
  return writeDataset(entries, options, {
    inputs: options.inputs,
    config,
    inputHash: () => inputHash.digest("hex"),
    rowsRead: () => rows.read,
    describeInputs: () => options.inputs.map((input) => `${input} (${kinds.get(input) ?? "empty"})`),
    columns: () => columns,
    ...(teacher ? { teacher: () => ({ url: teacher.options.url, model: teacher.model ?? "", ...teacher.stats }) } : {}),
  });
}

/** Splits, augments and writes entries into a dataset folder (staged, renamed when complete). */
export async function writeDataset(
  entries: AsyncIterable<BuildEntry> | Iterable<BuildEntry>,
  options: WriteOptions,
  meta: {
    inputs: string[];
    config: Record<string, unknown>;
    inputHash: () => string;
    rowsRead?: () => number;
    describeInputs?: () => string[];
    columns?: () => NonNullable<DatasetCard["columns"]>;
    teacher?: () => TeacherCard;
  },
): Promise<DatasetCard> {
  const out = resolve(options.out);
  if (existsSync(out) && !options.force) {
    throw new ConfigError(`${options.out} already exists`, [], { hint: "choose another --out, or pass --force to replace it" });
  }
  const settings = {
    ...meta.config,
    validation: options.validation ?? 0.1,
    test: options.test ?? 0.1,
    seed: options.seed ?? 42,
    held_out_category: options.heldOutCategory ?? null,
    tasks: [...REVIEW_TASKS, ANALYSIS_TASK],
    tokenizer: options.tokenizerName ?? null,
    max_tokens: options.tokens?.maxTokens ?? null,
  };
  const staging = stagingPath(out);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  // A process that exits in the middle (a second Ctrl-C exits at once) still removes what it staged.
  const removeStaging = () => rmSync(staging, { recursive: true, force: true });
  process.on("exit", removeStaging);
  const opened: LineWriter[] = [];
  try {
    // Each file is open once its writer exists: kept in `opened` at once, so a later one's failure still closes it.
    const writer = (file: string) => {
      const opening = new LineWriter(file);
      opened.push(opening);
      return opening;
    };
    const writers = {
      train: writer(join(staging, SPLIT_FILES.train)),
      validation: writer(join(staging, SPLIT_FILES.validation)),
      test: writer(join(staging, SPLIT_FILES.test)),
      reviews: writer(datasetPath(staging, "reviews")),
      rejected: writer(datasetPath(staging, "rejected")),
    };
    const splitter = new StratifiedSplitter({ validation: settings.validation, test: settings.test, seed: settings.seed, heldOutCategory: options.heldOutCategory });
    const card = new DatasetCardBuilder();
    // With a token budget, examples wait in a small buffer so token counts go to the engine in
    // batches; without one nothing waits, and a review's examples are written as their lines
    // (reviewExampleLines), in the same order.
    type Pending = { split: SplitName; example: { group: string; task: string; phrasing: number; messages: ChatExample["messages"] }; source?: Review["source"] };
    const pending: Pending[] = [];
    const pendingLimit = options.tokens ? 512 : 1;
    const flush = async () => {
      const batch = pending.splice(0, pending.length);
      const measured = options.tokens ? await options.tokens.measure(batch.map((item) => item.example)) : undefined;
      for (const [index, item] of batch.entries()) {
        const result = measured?.[index];
        if (result?.tooLong) {
          const where = item.source ?? { file: "(input)", line: 0, unit: "line" as const };
          const rejection: Rejection = { ...where, reason: "too_long", detail: `${item.example.task} example: ${result.tooLong}` };
          card.reject("too_long");
          await writers.rejected.write(rejection);
          continue;
        }
        const example = result?.example ?? item.example;
        await writers[item.split].write(result?.truncated ? { ...example, truncated: true } : example);
        card.addExample(item.split, example, result ? { prompt: result.promptTokens, completion: result.completionTokens, truncated: result.truncated } : undefined);
      }
    };
    for await (const entry of entries) {
      if (options.signal?.aborted) throw new CancelledError(`data build interrupted after ${card.reviews} reviews: nothing was written to ${options.out}`);
      if ("rejection" in entry) {
        card.rejectRow(entry.rejection);
        await writers.rejected.write(entry.rejection);
        continue;
      }
      if ("example" in entry) {
        // A QA row's question and answer types are strata too, so yes/no questions are split in the asked shares.
        const split = splitter.assign(entry.example.group, `instruction|${entry.example.task}|${Object.values(entry.example.slices ?? {}).join("|")}`);
        pending.push({ split, example: { ...entry.example, phrasing: 0 } });
        card.acceptRow();
        card.addVocabulary(entry.example.messages.map((message) => message.content));
      } else {
        const { review, labels } = entry;
        const words = countWords(review.text);
        const bucket = lengthBucket(words);
        const split = splitter.assign(review.id, `${review.category ?? "(none)"}|${labels.sentiment.label}|${bucket}`, review.category);
        if (options.tokens) {
          for (const example of reviewExamples(review, labels, { heldOutPhrasings: split === "test" })) pending.push({ split, example, source: review.source });
          pending.push({ split, example: analysisExample(review, labels), source: review.source });
        } else {
          for (const line of reviewExampleLines(review, labels, { heldOutPhrasings: split === "test" })) {
            const waiting = writers[split].writeJson(line.json);
            if (waiting) await waiting;
            card.addExampleCounts(split, line.task, line.words);
          }
        }
        await writers.reviews.write({ ...review, labels, split });
        card.addReview({ review, labels, split, bucket, words });
        if (card.reviews % 1000 === 0) options.onProgress?.(card.reviews, card.rejectedTotal());
      }
      if (pending.length >= pendingLimit) await flush();
    }
    await flush();
    for (const writer of Object.values(writers)) await writer.close();
    const result = card.finish({
      ...(options.tokens ? { tokenizer: options.tokenizerName ?? "model", maxTokens: options.tokens.maxTokens } : {}),
      rowsRead: meta.rowsRead?.(),
      inputs: meta.describeInputs?.() ?? meta.inputs,
      columns: meta.columns?.(),
      inputHash: meta.inputHash(),
      configHash: createHash("sha256").update(JSON.stringify(settings)).digest("hex"),
      config: settings,
      teacher: meta.teacher?.(),
    });
    if (result.examples === 0) {
      // The data's problem (README: exit 4), not the configuration's: an empty file, or every row rejected.
      const inputs = meta.inputs.join(", ");
      throw new DataError(
        `${result.rows.read === 0 ? `no rows in ${inputs}: the input is empty (or holds a header only)` : `no valid rows in ${inputs}`}; ${accountingLine(result)}`,
        meta.inputs[0] ?? "(input)",
        undefined,
        { hint: result.rows.read === 0 ? "pass a file with at least one review" : "check the column mapping (--column text=<name>) and the rejections" },
      );
    }
    if (options.heldOutCategory && result.reviews > 0 && splitter.heldOut === 0) {
      // Without this the split was an ordinary random one, and nothing said the held-out category was not held out.
      throw new ConfigError(`--held-out-category "${options.heldOutCategory}": no review has this category, so nothing would be held out`, [], {
        hint: `categories of these reviews: ${Object.entries(result.by_category).sort((a, b) => b[1] - a[1]).map(([category, count]) => `${category} (${count})`).join(", ")}`,
      });
    }
    writeFileSync(datasetPath(staging, "cardMarkdown"), renderCardMarkdown(result));
    writeFileSync(datasetPath(staging, "card"), `${JSON.stringify(result, null, 2)}\n`); // last: marks the folder complete
    rmSync(out, { recursive: true, force: true });
    renameSync(staging, out);
    return result;
  } catch (error) {
    await Promise.all(opened.map((writer) => writer.discard()));
    removeStaging();
    throw error;
  } finally {
    process.off("exit", removeStaging);
  }
}

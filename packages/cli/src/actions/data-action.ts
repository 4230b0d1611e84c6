// `reviewtune data build | preview | demo`.
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { basename, join } from "node:path";
import {
  ConfigError,
  SPLIT_FILES,
  Teacher,
  TokenBudget,
  ANALYSIS_TASK,
  accountingLine,
  rejectionLine,
  datasetPath,
  buildDataset,
  roundedLine,
  heldOutLine,
  buildDemoDataset,
  chatTemplateFor,
  readDatasetCard,
  readExampleRows,
  type ChatTemplate,
  type DatasetCard,
} from "@reviewtune/core";
import { RejectionSchema, parseJson } from "@reviewtune/contracts";
import type { DemoKind } from "@reviewtune/core";
import { onInterrupt, startEngine } from "../engine.js";
import { printable } from "../printable.js";

export interface DataBuildOptions {
  input: string[];
  meta?: string[];
  out: string;
  column: Record<string, string>;
  skipBadRows?: boolean;
  validation: number;
  test: number;
  seed: number;
  heldOutCategory?: string;
  maxChars: number;
  maxAnswerWords?: number;
  model?: string;
  maxTokens: number;
  teacher?: string;
  teacherModel?: string;
  teacherKey?: string;
  teacherConcurrency: number;
  workers?: number;
  force?: boolean;
  verbose?: boolean;
}

export interface DataDemoOptions {
  out: string;
  kind: DemoKind;
  reviews: number;
  products?: number;
  seed: number;
  force?: boolean;
}

export interface DataPreviewOptions {
  split: "train" | "validation" | "test";
  rows: number;
  model?: string;
  verbose?: boolean;
}

const percent = (part: number, whole: number) => `${whole ? ((100 * part) / whole).toFixed(1) : "0.0"}%`;
/** "key count" pairs, most frequent first, or in the keys' own order (`byKey`: stars 1-5). */
const counts = (values: Record<string, number>, byKey = false) =>
  Object.entries(values)
    .sort((a, b) => (byKey ? a[0].localeCompare(b[0], "en", { numeric: true }) : b[1] - a[1]))
    .map(([key, count]) => `${key} ${count}`)
    .join(", ");

/** Prints a line built from user data (categories, rejections, reviews) with its control characters escaped. */
const say = (line: string) => console.log(printable(line));

function printCard(card: DatasetCard, folder: string): void {
  const { splits } = card;
  // Ready-made examples (questions, title/description pairs, chat rows) come from no review.
  say(card.reviews === 0 ? `${folder}: ${card.examples} examples (ready-made, no reviews)` : `${folder}: ${card.reviews} reviews -> ${card.examples} examples`);
  say(`  ${accountingLine(card)}`);
  if (card.reviews === 0) {
    // Ready-made examples (QA keywords, title/description, Alpaca, chat): no review statistics.
    say(`  splits     train ${splits.train.examples} / validation ${splits.validation.examples} / test ${splits.test.examples} examples`);
    say(`  tasks      ${counts(card.by_task.train ?? {})} (train)`);
    return;
  }
  for (const file of card.columns ?? []) {
    const mapped = Object.entries(file.mapped).map(([field, column]) => (field === column ? field : `${field}=${column}`)).join(", ");
    say(`  columns    ${basename(file.input)}: ${mapped}${file.unused.length ? `; not used: ${file.unused.join(", ")}` : ""}`);
  }
  say(`  splits     train ${splits.train.reviews} / validation ${splits.validation.reviews} / test ${splits.test.reviews} reviews`);
  const heldOut = heldOutLine(card);
  if (heldOut) say(`             ${heldOut}`);
  say(`  sentiment  ${counts(card.by_sentiment)}`);
  say(`  category   ${counts(card.by_category)}`);
  say(`  rating     ${counts(card.by_rating, true)}`);
  if (card.ratings_rounded) say(`             ${roundedLine(card)}`);
  say(`  length     short ${card.by_length.short}, medium ${card.by_length.medium}, long ${card.by_length.long} (words: < 40, 40-150, > 150)`);
  if (Object.keys(card.by_tag ?? {}).length > 0) say(`  edge cases ${counts(card.by_tag)}`);
  if (card.tokens) {
    const { prompt, completion, total } = card.tokens;
    say(`  tokens     ${card.tokens.tokenizer}: example mean ${total.mean}, p50 ${total.p50}, p95 ${total.p95}, total ${total.total} (prompt mean ${prompt.mean}, answer mean ${completion.mean}); ${card.tokens.truncated_examples} shortened to fit ${card.tokens.max_tokens}`);
  }
  say(`  words      review mean ${card.review_words.mean}, p50 ${card.review_words.p50}, p95 ${card.review_words.p95}; vocabulary ${card.vocabulary_size}`);
  say(`  rejected   ${rejectionLine(card)}`);
  say(`  labels     sentiment from ${counts(card.label_sources.sentiment ?? {})}; features from ${counts(card.label_sources.features ?? {})}`);
  if (card.teacher) {
    const { model, asked, used, unusable, failed } = card.teacher;
    say(`  teacher    ${model}: ${asked} asked, ${used} used, ${unusable} unusable, ${failed} failed (those kept the analyzer's labels)`);
  }
}

/**
 * What makes a built dataset less than its command line asked for, said where the build ends (the
 * build still succeeds: a folder with only a train split trains). A Latin-1 file with 3 of its 4
 * rows rejected, or 29 reviews with no test split, printed "train on it" and nothing else.
 */
export function buildWarnings(card: DatasetCard, asked: { out: string; validation: number; test: number; ratingColumn: boolean }): string[] {
  const warnings: string[] = [];
  const { read, accepted } = card.rows;
  const reasons = Object.entries(card.rows.rejected).filter(([, count]) => count > 0).sort((a, b) => b[1] - a[1]);
  const rejected = reasons.reduce((sum, [, count]) => sum + count, 0);
  if (rejected > accepted) {
    const encoding = reasons[0]![0] === "bad_encoding" ? "; a file in another encoding (Latin-1, Windows-1252) is rejected row by row: re-save it as UTF-8 and build again" : "";
    warnings.push(`most rows were rejected: ${rejected} of ${read} (${reasons.map(([reason, count]) => `${reason} ${count}`).join(", ")}); the first are listed above, every one in ${datasetPath(asked.out, "rejected")}${encoding}`);
  }
  const unit = card.reviews > 0 ? "reviews" : "examples";
  const size = `${card[unit]} ${unit}`;
  if (asked.test > 0 && card.splits.test[unit] === 0) warnings.push(`the test split is empty (${size}, --test ${asked.test}): \`reviewtune eval\` needs one; build from more rows or with a larger --test`);
  if (asked.validation > 0 && card.splits.validation[unit] === 0) warnings.push(`the validation split is empty (${size}, --validation ${asked.validation}): training will run without evaluations or early stopping; build from more rows or with a larger --validation`);
  if (card.reviews > 0 && !asked.ratingColumn && Object.keys(card.by_rating).every((stars) => stars === "(none)")) {
    const others = (card.columns ?? []).filter((file) => file.unused.length > 0).map((file) => `${basename(file.input)}'s other columns: ${file.unused.join(", ")}`);
    warnings.push(`no review has a star rating: every sentiment and star label comes from the rule-based analyzer; if the file has a rating column under another name, map it: --column rating=<column>${others.length ? ` (${others.join("; ")})` : ""}`);
  }
  return warnings;
}

export async function runDataBuild(options: DataBuildOptions): Promise<void> {
  const started = performance.now();
  const engine = options.model ? await startEngine({ verbose: options.verbose ?? false }) : undefined;
  try {
    let tokens: TokenBudget | undefined;
    if (engine && options.model) {
      const model = { source: options.model, allow_pickle: false };
      tokens = new TokenBudget(engine, model, await chatTemplateFor(engine, model), options.maxTokens);
    }
    await build(options, tokens, started);
  } finally {
    await engine?.shutdown();
  }
}

async function build(options: DataBuildOptions, tokens: TokenBudget | undefined, started: number): Promise<void> {
  let teacher: Teacher | undefined;
  if (options.teacher) {
    teacher = new Teacher({
      url: options.teacher,
      model: options.teacherModel,
      apiKey: options.teacherKey ?? process.env.REVIEWTUNE_TEACHER_KEY,
      concurrency: options.teacherConcurrency,
    });
    console.error(`labeling with the teacher ${await teacher.connect()} at ${options.teacher}`);
  }
  // Ctrl-C stops the build at the next row and removes its staging folder (a second one exits at once).
  const controller = new AbortController();
  const stopListening = onInterrupt(() => controller.abort(), "removing the unfinished dataset");
  const card = await buildDataset({
    signal: controller.signal,
    teacher,
    tokens,
    tokenizerName: options.model,
    inputs: options.input,
    ...(options.meta ? { meta: options.meta } : {}),
    out: options.out,
    mapping: options.column,
    skipBadRows: options.skipBadRows ?? false,
    validation: options.validation,
    test: options.test,
    seed: options.seed,
    maxChars: options.maxChars,
    maxAnswerWords: options.maxAnswerWords,
    workers: options.workers,
    force: options.force ?? false,
    ...(options.heldOutCategory ? { heldOutCategory: options.heldOutCategory } : {}),
    ...(process.stderr.isTTY ? { onProgress: (reviews: number, rejected: number) => process.stderr.write(`\r  ${reviews} reviews, ${rejected} rejected...`) } : {}),
  }).finally(stopListening);
  if (process.stderr.isTTY) process.stderr.write("\r\x1b[K");
  printCard(card, options.out);
  // The first few rejections, read line by line: the file can be as long as the input.
  const rejections: string[] = [];
  for await (const line of createInterface({ input: createReadStream(datasetPath(options.out, "rejected")) })) {
    if (rejections.push(line) >= 5) break;
  }
  for (const line of rejections) {
    const rejection = parseJson(line, RejectionSchema, datasetPath(options.out, "rejected"));
    say(`    ${rejection.file}:${rejection.unit === "item" ? "item " : ""}${rejection.line}: ${rejection.reason} (${rejection.detail})`);
  }
  for (const warning of buildWarnings(card, { out: options.out, validation: options.validation, test: options.test, ratingColumn: options.column?.rating !== undefined })) console.error(printable(`warning: ${warning}`));
  say(`built in ${((performance.now() - started) / 1000).toFixed(1)} s; card: ${datasetPath(options.out, "cardMarkdown")}`);
  // Review datasets carry one analysis example per review: the one-pass analysis recipe trains those.
  const preset = (card.by_task.train[ANALYSIS_TASK] ?? 0) > 0 ? "reviews-analysis" : "demo";
  say(`train on it: npx reviewtune train --preset ${preset} --data ${options.out}`);
}

export async function runDataDemo(options: DataDemoOptions): Promise<void> {
  const card = await buildDemoDataset({ out: options.out, kind: options.kind, reviews: options.reviews, products: options.products, seed: options.seed, force: options.force ?? false });
  printCard(card, options.out);
}

export async function runDataPreview(folder: string, options: DataPreviewOptions): Promise<void> {
  const split = (options.split as string) === "val" ? "validation" : options.split; // the file is val.jsonl
  if (!(split in SPLIT_FILES)) throw new ConfigError(`--split must be train, validation (or val) or test, got "${split}"`);
  printCard(readDatasetCard(folder), folder);
  const rows = readExampleRows(join(folder, SPLIT_FILES[split])).slice(0, options.rows);
  if (!options.model) {
    for (const [index, row] of rows.entries()) {
      say(`\n--- ${SPLIT_FILES[split]} #${index + 1} (task ${row.task}, review ${row.group}) ---`);
      for (const message of row.messages) say(`[${message.role}]\n${message.content}`);
    }
    return;
  }
  const engine = await startEngine({ verbose: options.verbose ?? false });
  try {
    const model = { source: options.model, allow_pickle: false };
    const template: ChatTemplate = await chatTemplateFor(engine, model);
    say(`\nexact training strings for ${options.model}; the part between ⟦ and ⟧ carries the loss, the rest is masked`);
    for (const [index, row] of rows.entries()) {
      const { prompt, completion } = template.split(row.messages);
      const [promptTokens, completionTokens] = await Promise.all(
        [prompt, completion].map(async (text) => (await engine.request("tokenize", { model, text, add_special_tokens: false })).ids.length),
      );
      say(`\n--- ${SPLIT_FILES[split]} #${index + 1} (task ${row.task}): ${promptTokens} prompt + ${completionTokens} answer tokens ---`);
      say(`${prompt}⟦${completion}⟧`);
    }
  } finally {
    await engine.shutdown();
  }
}

// `reviewtune bench data`: rows/s and peak memory of `data build` on a generated review file of
// N rows (default one million), written in chunks so the generator itself stays small. Prints
// figures; asserts nothing.
import { createWriteStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { makeDemoReviews } from "../data/demo-reviews.js";
import { buildDataset } from "../data/builder/build-dataset.js";
import { defaultLabelThreads } from "../data/labels/label-pool.js";
import { datasetPath } from "../data/dataset-folder.js";
import type { DatasetCard } from "../data/builder/card.js";

export interface DataBenchResult {
  rows: number;
  inputBytes: number;
  generateSeconds: number;
  buildSeconds: number;
  rowsPerSecond: number;
  /** The main thread's share of the build spent working (the rest it waited for labels or writes). */
  mainBusy: number;
  /** The label threads' share spent working, averaged (undefined on the main thread). */
  labelBusy?: number | undefined;
  /** The share of the reviews the main thread labeled itself while the label threads were behind (undefined without threads). */
  mainThreadShare?: number | undefined;
  /** Label threads (0: the main thread). */
  workers: number;
  /** Peak resident set size of this process over the build, in bytes. */
  peakRssBytes: number;
  card: DatasetCard;
}

export async function generateReviewFile(file: string, rows: number, seed = 7): Promise<void> {
  const out = createWriteStream(file);
  const chunk = 5_000;
  for (let start = 0; start < rows; start += chunk) {
    const reviews = makeDemoReviews(Math.min(chunk, rows - start), seed + start);
    for (const [index, review] of reviews.entries()) {
      const number = start + index + 1;
      // The order number keeps texts distinct, so the build does real work instead of rejecting duplicates.
      const line = JSON.stringify({ review_id: `bench-${number}`, title: review.title, text: `${review.text} (order #${number})`, rating: review.rating, category: review.category });
      if (!out.write(`${line}\n`)) await once(out, "drain");
    }
  }
  out.end();
  await once(out, "finish");
}

export async function benchData(options: { rows: number; workers?: number | undefined; log?: (line: string) => void }): Promise<DataBenchResult> {
  const workers = options.workers ?? defaultLabelThreads();
  const folder = mkdtempSync(join(tmpdir(), "reviewtune-bench-data-"));
  try {
    const input = datasetPath(folder, "reviews");
    options.log?.(`bench data: generating ${options.rows} reviews into ${input}...`);
    let started = performance.now();
    await generateReviewFile(input, options.rows);
    const generateSeconds = (performance.now() - started) / 1000;
    const inputBytes = statSync(input).size;
    options.log?.(`bench data: building (${(inputBytes / 2 ** 20).toFixed(0)} MiB)...`);
    started = performance.now();
    const loop = performance.eventLoopUtilization();
    let labelBusy: number | undefined;
    let mainThreadShare: number | undefined;
    // maxRSS is the process peak so far; generation stays small (chunks), so it measures the build.
    const card = await buildDataset({
      inputs: [input],
      out: join(folder, "dataset"),
      workers,
      onProgress: (reviews) => reviews % 100_000 === 0 && options.log?.(`  ${reviews} reviews`),
      onLabelThreads: (stats) => ({ busy: labelBusy, mainThreadShare } = stats),
    });
    const buildSeconds = (performance.now() - started) / 1000;
    const mainBusy = performance.eventLoopUtilization(loop).utilization;
    return { rows: options.rows, inputBytes, generateSeconds, buildSeconds, rowsPerSecond: options.rows / buildSeconds, mainBusy, labelBusy, mainThreadShare, workers, peakRssBytes: process.resourceUsage().maxRSS * 1024, card };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

export function formatDataBench(result: DataBenchResult): string {
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  const percent = (share: number) => `${(share * 100).toFixed(0)}%`;
  return [
    `input      ${result.rows} reviews, ${mib(result.inputBytes)} JSONL (generated in ${result.generateSeconds.toFixed(1)} s)`,
    `build      ${result.buildSeconds.toFixed(1)} s, ${result.rowsPerSecond.toFixed(0)} reviews/s (read, validate, label, split, ${(result.card.examples / Math.max(1, result.card.reviews)).toFixed(0)} examples each, write; ${result.workers === 0 ? "labels on the main thread" : `labels on ${result.workers} thread(s)`})`,
    `threads    main ${percent(result.mainBusy)} busy${result.labelBusy === undefined ? "" : `, label ${percent(result.labelBusy)} busy`} (the rest waiting: near 100% is the side that limits the rate)`,
    ...(result.mainThreadShare === undefined ? [] : [`           the main thread labeled ${percent(result.mainThreadShare)} of the reviews itself, when the label threads held all they may`]),
    `peak RSS   ${mib(result.peakRssBytes)}`,
    `output     ${result.card.examples} examples; rejected ${Object.values(result.card.rejected).reduce((sum, count) => sum + count, 0)}; vocabulary ${result.card.vocabulary_size}`,
  ].join("\n");
}

// `reviewtune eval`: evaluate one run (engine: generation and scoring) and write its reports, or
// pair two evaluated runs item by item (no engine needed).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { EvalSettingsSchema, formatIssues, type EvalSettings } from "@reviewtune/contracts";
import {
  BASELINES,
  ConfigError,
  DataError,
  SPLIT_FILES,
  analysisColumns,
  analysisTable,
  comparisonLines,
  compareReports,
  datasetPath,
  evaluateAspects,
  evaluateRun,
  formatEstimate,
  headlineTable,
  readDatasetCard,
  readEvalReport,
  readRunRecord,
  requireFinished,
  writeJsonAtomic,
  readSemEvalAspects,
  runPath,
  writeEvalReport,
  TEXT_BASELINES,
  evaluateTextRun,
  isTextDataset,
  textTable,
  writeTextEvalReport,
  unlessInterrupted,
  type TextBaseline,
  type BaselineName,
  type GenerationBackend,
  type RunRecord,
} from "@reviewtune/core";
import { backendForRun, checkBackendOptions, onInterrupt, startEngine } from "../engine.js";

const INTERRUPTED = ["the evaluation was interrupted: no report was written", "run the same command again to evaluate"] as const;

/** Says, before the work, that an earlier report in the output folder will be replaced. */
function noteReplacing(out: string, report: string): void {
  if (existsSync(join(out, report))) console.error(`  note: ${out} holds an earlier evaluation; it is replaced when this one finishes (pass --out DIR to keep both)`);
}

export interface EvalOptions {
  run?: string;
  compare?: string[];
  data?: string;
  aspects?: string;
  limit?: number;
  baselines?: string;
  settings?: string;
  set?: Record<string, unknown>;
  out?: string;
  batchSize: number;
  maxTokens: number;
  seed: number;
  bootstrap: number;
  backend: string;
  head?: string[];
  chatPerReview?: number;
  parallel: number;
  quant?: string;
  verbose?: boolean;
}

function mergeDeep(target: Record<string, unknown>, source: Record<string, unknown>): Record<string, unknown> {
  for (const [key, value] of Object.entries(source)) {
    target[key] = value && typeof value === "object" && !Array.isArray(value) && typeof target[key] === "object" ? mergeDeep({ ...(target[key] as Record<string, unknown>) }, value as Record<string, unknown>) : value;
  }
  return target;
}

export function loadSettings(file: string | undefined, overrides: Record<string, unknown> = {}): EvalSettings {
  let raw: Record<string, unknown> = {};
  if (file) {
    if (!existsSync(file)) throw new ConfigError(`settings file ${file} does not exist`, [], { hint: "check the --settings path" });
    raw = (parseYaml(readFileSync(file, "utf8")) as Record<string, unknown> | null) ?? {};
  }
  const merged = mergeDeep(raw, overrides);
  const parsed = EvalSettingsSchema.safeParse(merged);
  if (!parsed.success) throw new ConfigError(`invalid eval settings${file ? ` in ${file}` : ""}`, formatIssues(parsed.error, merged, EvalSettingsSchema), { hint: "fields: targets.{category_drop,class_gap_points,length_drop,min_slice,...}, cost.{power_watts,price_per_kwh,currency,api_prices_per_1000}" });
  return parsed.data;
}

function parseBaselines<T extends string>(list: string, known: readonly T[], what: string): T[] {
  const names = list.split(",").map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !(known as readonly string[]).includes(name));
  if (unknown.length) throw new ConfigError(`unknown baseline(s): ${unknown.join(", ")}`, [], { hint: `for ${what}, choose from ${known.join(", ")}` });
  return names as T[];
}

/** What evaluating a run on its test split takes from the command line, whatever the dataset's kind. */
function commonOptions(options: EvalOptions, signal: AbortSignal) {
  return {
    runDirectory: options.run!,
    dataDirectory: options.data,
    limit: options.limit,
    batchSize: options.batchSize,
    maxNewTokens: options.maxTokens,
    seed: options.seed,
    bootstrapSamples: options.bootstrap,
    onStatus: (message: string) => console.error(`  ${message}`),
    signal,
  };
}

/** A run trained on free-text answers (QA, descriptions): tuned vs base vs retrieval, text metrics. */
async function runTextEval(options: EvalOptions, run: RunRecord, out: string): Promise<void> {
  const baselines = parseBaselines<TextBaseline>(options.baselines ?? TEXT_BASELINES.join(","), TEXT_BASELINES, "a QA or description dataset");
  checkBackendOptions(options);
  const engine = await startEngine({ verbose: options.verbose ?? false });
  const controller = new AbortController();
  const dispose = onInterrupt(() => controller.abort(), "no report is written");
  let backend: GenerationBackend | undefined;
  try {
    // The answers on the llama.cpp path where it can serve the run (as for review datasets); embeddings, grounding and retrieval stay on the engine.
    backend = await backendForRun(run, { backend: options.backend, quant: options.quant, engine, parallel: options.parallel });
    noteReplacing(out, "text-report.json");
    const started = performance.now();
    const result = await unlessInterrupted(controller.signal, () => evaluateTextRun({ engine, backend, baselines, ...commonOptions(options, controller.signal) }), ...INTERRUPTED);
    const files = writeTextEvalReport(out, result);
    console.log(textTable(result.report));
    console.log("");
    for (const comparison of result.report.comparisons) console.log(comparison.verdict);
    console.log(`
evaluated ${result.report.items}${(result.report.split_items ?? 0) > result.report.items ? ` of ${result.report.split_items}` : ""} test prompts (${result.report.tasks.join(", ")}) in ${((performance.now() - started) / 60_000).toFixed(1)} min (${result.report.backend})`);
    console.log(`
reports: ${files.markdown}
         ${files.json}
         ${files.answers} (every answer beside the reference)`);
  } finally {
    dispose();
    await backend?.close();
    await engine.shutdown();
  }
}

/**
 * A dataset folder whose test split is empty is said to be so before the model loads (it was a
 * "test.jsonl has no rows" after it, with a hint about the rows' fields).
 */
function requireTestSplit(dataDirectory: string): void {
  if (!existsSync(datasetPath(dataDirectory, "card"))) return; // not a dataset folder: the evaluation says what it lacks
  const { splits, reviews } = readDatasetCard(dataDirectory);
  if (splits.test.examples > 0) return;
  const unit = reviews > 0 ? "reviews" : "examples";
  throw new DataError(`${dataDirectory} has no test split to evaluate on (train ${splits.train[unit]} / validation ${splits.validation[unit]} / test 0 ${unit})`, join(dataDirectory, SPLIT_FILES.test), undefined, {
    hint: "build it again from more rows or with a larger share for test (reviewtune data build ... --test 0.2), or pass --data <a dataset folder with a test split>",
  });
}

export async function runEval(options: EvalOptions): Promise<void> {
  const run = readRunRecord(options.run!);
  requireFinished(run, options.run!); // before minutes of starting the engine and loading the model
  requireTestSplit(options.data ?? run.data.source);
  const out = options.out ?? runPath(options.run!, "eval");
  if (isTextDataset(options.data ?? run.data.source)) return runTextEval(options, run, out);
  const settings = loadSettings(options.settings, options.set);
  const baselines = parseBaselines<BaselineName>(options.baselines ?? BASELINES.join(","), BASELINES, "a review dataset");
  checkBackendOptions(options);
  const engine = await startEngine({ verbose: options.verbose ?? false });
  const controller = new AbortController();
  const dispose = onInterrupt(() => controller.abort(), "no report is written");
  let backend: GenerationBackend | undefined;
  try {
    backend = await backendForRun(run, { backend: options.backend, quant: options.quant, engine, parallel: options.parallel });
    noteReplacing(out, "report.json");
    const started = performance.now();
    const report = await unlessInterrupted(controller.signal, () =>
      evaluateRun({
        backend,
        chatPerReview: options.chatPerReview ?? (backend ? 1 : undefined),
        heads: options.head,
        engine,
        baselines,
        settings,
        ...commonOptions(options, controller.signal),
      }),
      ...INTERRUPTED,
    );
    const files = writeEvalReport(out, report);
    const seconds = (performance.now() - started) / 1000;
    if (report.analysis) console.log(`${analysisTable(report)}\n`);
    console.log(headlineTable(report));
    console.log("");
    for (const check of report.checks) console.log(`${check.status === "pass" ? "pass" : check.status === "fail" ? "FAIL" : "too small"}  ${check.dimension}: ${check.detail}`);
    for (const line of comparisonLines(report)) console.log(line);
    // What the report's caveats say (the rule-based baseline scored against its own labels, --limit...) belongs beside the figures.
    for (const caveat of report.caveats) console.log(`note: ${caveat}`);
    console.log(`\nevaluated ${report.analysis ? `${report.analysis.items} analyses and ` : ""}${report.dataset.items} chat answers per language model in ${(seconds / 60).toFixed(1)} min (${report.backend})`);
    console.log(`\nreports: ${files.markdown}\n         ${files.html}\n         ${files.json}`);
  } finally {
    dispose();
    await backend?.close();
    await engine.shutdown();
  }
}

export async function runCompare(first: string, second: string, options: EvalOptions): Promise<void> {
  const a = readEvalReport(first);
  const b = readEvalReport(second);
  if (a.dataset.directory !== b.dataset.directory) {
    console.error(`note: the runs were evaluated on different datasets (${a.dataset.directory} vs ${b.dataset.directory}); only items with the same id are paired`);
  }
  const tunedA = a.systems.find((system) => system.name === "tuned")!;
  const tunedB = b.systems.find((system) => system.name === "tuned")!;
  const rows: Array<[string, string, string]> = [
    ["sentiment accuracy %", formatEstimate(tunedA.sentiment?.accuracy), formatEstimate(tunedB.sentiment?.accuracy)],
    ["sentiment macro F1 %", formatEstimate(tunedA.sentiment?.macro_f1), formatEstimate(tunedB.sentiment?.macro_f1)],
    ["rating within 1 star %", formatEstimate(tunedA.rating?.within_one), formatEstimate(tunedB.rating?.within_one)],
    ["feature F1 %", formatEstimate(tunedA.features?.f1), formatEstimate(tunedB.features?.f1)],
    ["completeness %", formatEstimate(tunedA.completeness), formatEstimate(tunedB.completeness)],
  ];
  console.log(`| metric | ${a.run.id} | ${b.run.id} |\n|---|---|---|`);
  for (const row of rows) console.log(`| ${row.join(" | ")} |`);
  const analysisA = a.analysis?.systems.find((system) => system.name === "tuned");
  const analysisB = b.analysis?.systems.find((system) => system.name === "tuned");
  if (a.analysis && analysisA && analysisB) {
    console.log(`\n${analysisColumns(a.analysis, [[a.run.id, analysisA], [b.run.id, analysisB]])}`);
  } else if (analysisA || analysisB) {
    console.error(`note: only ${analysisA ? a.run.id : b.run.id}'s report has the one-pass analysis (the other was evaluated before it existed, or on a dataset without reviews)`);
  }
  const comparisons = compareReports(a, b, { seed: options.seed, samples: options.bootstrap });
  if (comparisons.length === 0) throw new ConfigError("the two reports share no items to pair", [], { hint: "evaluate both runs with the same --data and --limit" });
  console.log(`\n| paired on the same items | n | ${a.run.id} minus ${b.run.id} (points) | only a right | only b right | McNemar p |\n|---|---|---|---|---|---|`);
  for (const comparison of comparisons) {
    console.log(`| ${comparison.metric} | ${comparison.n} | ${formatEstimate(comparison.difference)} | ${comparison.only_a} | ${comparison.only_b} | ${comparison.mcnemar_p.toFixed(4)} |`);
  }
}

export async function runAspects(options: EvalOptions): Promise<void> {
  const all = readSemEvalAspects(options.aspects!);
  const items = options.limit !== undefined ? all.slice(0, options.limit) : all;
  // A --limit is said in the table's title and recorded in aspects.json: a part must not read as the whole file.
  const part = items.length < all.length ? ` (the first ${items.length} of its ${all.length}: --limit)` : "";
  const engine = await startEngine({ verbose: options.verbose ?? false });
  const controller = new AbortController();
  const dispose = onInterrupt(() => controller.abort(), "no report is written");
  try {
    const { systems, rows } = await unlessInterrupted(controller.signal, () => evaluateAspects({
      engine,
      runDirectory: options.run!,
      items,
      baselines: parseBaselines<BaselineName>(options.baselines ?? BASELINES.join(","), BASELINES, "aspects"),
      batchSize: options.batchSize,
      maxNewTokens: Math.min(options.maxTokens, 48),
      seed: options.seed,
      bootstrapSamples: options.bootstrap,
      onStatus: (message) => console.error(`  ${message}`),
      signal: controller.signal,
    }), ...INTERRUPTED);
    const gold = items.reduce((sum, item) => sum + item.gold.features!.length, 0);
    console.log(`feature extraction on ${items.length} sentences of ${options.aspects}${part} (${gold} gold aspect terms, SemEval-2014 annotation)\n`);
    console.log("| system | precision % | recall % | F1 % | unparseable |\n|---|---|---|---|---|");
    for (const system of systems) {
      const features = system.features!;
      console.log(`| ${system.name} | ${formatEstimate(features.precision)} | ${formatEstimate(features.recall)} | ${formatEstimate(features.f1)} | ${features.unparseable} |`);
    }
    console.log(`\nnormalization: ${systems[0]!.features!.normalization}`);
    // Every sentence with its gold and each system's answer, the unparseable ones listed first: what the table scored.
    const out = join(options.out ?? runPath(options.run!, "eval"), "aspects.json");
    const unparseable = rows.flatMap((row) => Object.entries(row.answers).filter(([, entry]) => entry.terms === null).map(([system, entry]) => ({ system, id: row.id, answer: entry.answer })));
    writeJsonAtomic(out, { aspects: options.aspects, sentences: rows.length, file_sentences: all.length, systems, unparseable, rows });
    console.log(`answers: ${out} (every sentence's gold and answers${unparseable.length ? `; ${unparseable.length} unparseable listed first` : ""})`);
  } finally {
    dispose();
    await engine.shutdown();
  }
}

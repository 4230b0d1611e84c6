// `reviewtune eval` as one script: load the test items, let the tuned and the base model answer
// them (batched, greedy), score the sentiment label words for AUC and the answers' perplexity
// under the base model, add the non-LLM baselines, then metrics with intervals, tuned-vs-base
// significance, robustness slices and the cost line. Rendering lives in report-*.ts.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { EVAL_REPORT_VERSION, SENTIMENT_CLASSES, type EvalReport, type EvalSettings, type SystemResult, type TrainConfig } from "@reviewtune/contracts";
import type { EngineClient } from "../engine/client.js";
import type { GenerationBackend } from "../model/backend.js";
import { classifierOfRun } from "../classify/classify.js";
import { analysisReport, analyzeWithBackend, headAnalyses, loadAnalysisItems, randomAnalyses, ruleBasedAnalyses, type AnalysisRun } from "./analysis-eval.js";
import { formatAdherence } from "./format-adherence.js";
import { hasDatasetFile } from "../data/dataset-folder.js";
import { ConfigError } from "../errors.js";
import { answer } from "../generate/answer.js";
import type { ChatTemplate } from "../templates/chat-template.js";
import { chatTemplateFor } from "../templates/model-template.js";
import { readRunMetrics, runModel } from "../train/run-folder.js";
import { readRunRecord, requireFinished } from "../train/runs.js";
import { ruleBasedPredictions, stratifiedRandomPredictions, type Prediction } from "./baselines.js";
import { compareCorrectness } from "./compare.js";
import { loadEvalDataset, type EvalItem } from "./eval-items.js";
import { calibration, classificationMetrics, featureMetrics, normalizeFeature, oneVsRestAuc, ratingMetrics } from "./metrics.js";
import { parseAnswer } from "./parse-answer.js";
import { completeness, domainSpecificity } from "./response-quality.js";
import { computeSlices, type SliceInput } from "./slices.js";
import { bootstrap, DEFAULT_BOOTSTRAP, meanEstimate, percentile, type BootstrapOptions } from "./statistics.js";

export const BASELINES = ["base", "random", "rule-based"] as const;
export type BaselineName = (typeof BASELINES)[number];

/** What one system said about every item: language models also carry their answers and timings. */
export interface SystemRun {
  name: string;
  description: string;
  predictions: Prediction[];
  answers?: string[];
  latency?: NonNullable<SystemResult["latency"]>;
  /** Per item: label-word probabilities (sentiment items only). */
  probabilities?: Array<Record<string, number> | null>;
  /** Per item: summed log-probability and token count of the answer under the base model. */
  answerLogprobs?: Array<{ logprob: number; tokens: number } | null>;
}

export interface EvaluateOptions {
  /**
   * The torch engine: token counts and, on the torch path, the label-word probabilities (AUC) and
   * the answers' perplexity. Optional when a backend answers.
   */
  engine?: EngineClient | undefined;
  /**
   * Who answers (the one model interface: llama.cpp in process, or the torch engine). Absent: the
   * engine answers through `answer()`. The analysis is evaluated only through a backend.
   */
  backend?: GenerationBackend | undefined;
  /** Classification runs (`train --task classify`) to score beside the analysis: the heads' stars or sentiment. */
  heads?: readonly string[] | undefined;
  /** Chat questions per test review (tasks taken in turn, so every task is asked): default every task. */
  chatPerReview?: number | undefined;
  runDirectory: string;
  /** A dataset folder; default: the one the run trained on. */
  dataDirectory?: string | undefined;
  /** Reviews per task (the same reviews for every task). */
  limit?: number | undefined;
  baselines?: readonly BaselineName[];
  settings: EvalSettings;
  batchSize?: number;
  maxNewTokens?: number;
  seed?: number;
  bootstrapSamples?: number;
  onStatus?: (message: string) => void;
  signal?: AbortSignal;
}

export interface LanguageModel {
  engine: EngineClient;
  model: TrainConfig["model"];
  adapter?: string | undefined;
  template: ChatTemplate;
}

/** Answers every item in batches, timing each batch (an answer's latency is its batch's wall time). */
export async function generateAnswers(
  target: LanguageModel,
  items: ReadonlyArray<Pick<EvalItem, "messages">>,
  options: { batchSize: number; maxNewTokens: number; signal?: AbortSignal | undefined; onBatch?: (done: number) => void },
): Promise<{ answers: string[]; latency: NonNullable<SystemResult["latency"]> }> {
  const answers: string[] = [];
  const latencies: number[] = [];
  let tokens = 0;
  let seconds = 0;
  // One token first, untimed: loading the model and the adapter is not answer latency.
  if (items.length > 0) await answer([items[0]!.messages], { ...target, maxNewTokens: 1, ...(options.signal ? { signal: options.signal } : {}) });
  for (let offset = 0; offset < items.length; offset += options.batchSize) {
    const batch = items.slice(offset, offset + options.batchSize);
    const started = performance.now();
    const result = await answer(
      batch.map((item) => item.messages),
      { ...target, maxNewTokens: options.maxNewTokens, temperature: 0, batchSize: options.batchSize, ...(options.signal ? { signal: options.signal } : {}) },
    );
    const elapsed = (performance.now() - started) / 1000;
    for (const output of result.outputs) {
      answers.push(output.text);
      latencies.push(elapsed);
      tokens += output.new_tokens;
    }
    seconds += result.seconds;
    options.onBatch?.(answers.length);
  }
  return {
    answers,
    latency: {
      p50_seconds: percentile(latencies, 0.5),
      p95_seconds: percentile(latencies, 0.95),
      batch_size: options.batchSize,
      tokens_per_second: seconds > 0 ? tokens / seconds : 0,
      answers: answers.length,
      total_seconds: seconds,
    },
  };
}

const LABEL_CANDIDATES = SENTIMENT_CLASSES.map((label) => ` ${label}`);

/** Answers every item through a backend (the llama.cpp path decodes a chunk's prompts together). */
export async function generateWithBackend(
  backend: GenerationBackend,
  adapterDir: string | undefined,
  items: ReadonlyArray<Pick<EvalItem, "messages">>,
  options: { chunk: number; maxNewTokens: number; signal?: AbortSignal | undefined; onBatch?: (done: number) => void },
): Promise<{ answers: string[]; latency: NonNullable<SystemResult["latency"]> }> {
  const answers: string[] = [];
  const latencies: number[] = [];
  let tokens = 0;
  let seconds = 0;
  const signal = options.signal ?? new AbortController().signal;
  for (let offset = 0; offset < items.length; offset += options.chunk) {
    // A cancelled backend answers "" at once: stop here, so that no report is made of empty answers.
    signal.throwIfAborted();
    const batch = items.slice(offset, offset + options.chunk);
    const started = performance.now();
    const result = await backend.generate({ adapterDir, prompts: batch.map((item) => backend.renderChat(item.messages)), maxNewTokens: options.maxNewTokens, temperature: 0, topP: 1, seed: 0, signal });
    signal.throwIfAborted();
    const elapsed = (performance.now() - started) / 1000;
    seconds += elapsed;
    for (const output of result.outputs) {
      answers.push(output.text);
      latencies.push(elapsed / batch.length);
      tokens += output.new_tokens;
    }
    options.onBatch?.(answers.length);
  }
  return {
    answers,
    latency: { p50_seconds: percentile(latencies, 0.5), p95_seconds: percentile(latencies, 0.95), batch_size: options.chunk, tokens_per_second: seconds > 0 ? tokens / seconds : 0, answers: answers.length, total_seconds: seconds },
  };
}

/** Label-word probabilities after "Sentiment:" (softmax over the three words' log-probabilities). */
export async function sentimentProbabilities(target: LanguageModel, items: readonly EvalItem[]): Promise<Array<Record<string, number>>> {
  if (items.length === 0) return [];
  const prompts = items.map((item) => `${target.template.prompt(item.messages)}Sentiment:`);
  const result = await target.engine.request("score", {
    model: target.model,
    ...(target.adapter ? { adapter: target.adapter } : {}),
    prompts,
    candidates: [LABEL_CANDIDATES],
    batch_size: 8,
  });
  return result.scores.map((row) => {
    const top = Math.max(...row.map((entry) => entry.logprob));
    const weights = row.map((entry) => Math.exp(entry.logprob - top));
    const total = weights.reduce((sum, weight) => sum + weight, 0);
    return Object.fromEntries(SENTIMENT_CLASSES.map((label, index) => [label, weights[index]! / total]));
  });
}

/** The answers' log-probabilities under the base model (for perplexity); empty answers get null. */
export async function answerLogprobs(base: LanguageModel, items: readonly EvalItem[], answers: readonly string[]) {
  const scored = items.map((item, index) => ({ item, text: answers[index]! })).filter((entry) => entry.text.trim().length > 0);
  const out: Array<{ logprob: number; tokens: number } | null> = answers.map(() => null);
  if (scored.length === 0) return out;
  const result = await base.engine.request("score", {
    model: base.model,
    prompts: scored.map((entry) => base.template.prompt(entry.item.messages)),
    candidates: scored.map((entry) => [entry.text]),
    batch_size: 4,
  });
  let cursor = 0;
  answers.forEach((text, index) => {
    if (text.trim().length > 0) out[index] = result.scores[cursor++]![0]!;
  });
  return out;
}

const indicesWhere = (items: readonly EvalItem[], test: (item: EvalItem) => boolean) => items.flatMap((item, index) => (test(item) ? [index] : []));

/** Every metric of one system over the items, each with its interval. */
export function systemResult(items: readonly EvalItem[], system: SystemRun, options: BootstrapOptions = {}): SystemResult {
  const pick = <T>(indices: number[], value: (index: number) => T) => indices.map(value);
  const sentimentItems = indicesWhere(items, (item) => item.task === "sentiment" && item.gold.sentiment !== undefined);
  const ratingItems = indicesWhere(items, (item) => item.task === "rating" && item.gold.stars !== undefined);
  const featureItems = indicesWhere(items, (item) => item.task === "features" && item.gold.features !== undefined);
  const qualityItems = indicesWhere(items, (item) => item.task === "quality" && item.gold.quality !== undefined);
  const recommendationItems = indicesWhere(items, (item) => item.task === "recommendation" && item.gold.recommendation !== undefined);
  const p = system.predictions;
  const sentimentGold = pick(sentimentItems, (index) => items[index]!.gold.sentiment!);
  const probabilities = system.probabilities ? sentimentItems.map((index) => system.probabilities![index]) : undefined;
  const hasProbabilities = probabilities !== undefined && probabilities.length > 0 && probabilities.every((value) => value !== null && value !== undefined);
  const answered = system.answers ? items.map((_, index) => index) : [];
  const productTerms = (item: EvalItem) => [...(item.gold.features ?? []), item.review?.product_title ?? "", item.review?.category ?? ""];
  const logprobs = system.answerLogprobs?.flatMap((value) => (value ? [value] : [])) ?? [];
  return {
    name: system.name,
    description: system.description,
    sentiment: sentimentItems.length ? classificationMetrics(sentimentGold, pick(sentimentItems, (index) => p[index]!.sentiment ?? null), SENTIMENT_CLASSES, options) : null,
    auc: hasProbabilities ? oneVsRestAuc(sentimentGold, probabilities as Array<Record<string, number>>, SENTIMENT_CLASSES, options) : null,
    calibration: hasProbabilities ? calibration(sentimentGold, probabilities as Array<Record<string, number>>) : null,
    rating: ratingItems.length ? ratingMetrics(pick(ratingItems, (index) => items[index]!.gold.stars!), pick(ratingItems, (index) => p[index]!.stars ?? null), options) : null,
    features:
      featureItems.length && p.some((prediction) => prediction.features !== undefined || system.answers)
        ? featureMetrics(pick(featureItems, (index) => items[index]!.gold.features!), pick(featureItems, (index) => p[index]!.features ?? null), options)
        : null,
    quality: qualityItems.length ? classificationMetrics(pick(qualityItems, (index) => items[index]!.gold.quality!), pick(qualityItems, (index) => p[index]!.quality ?? null), ["good", "mixed", "poor"], options) : null,
    recommendation: recommendationItems.length
      ? classificationMetrics(pick(recommendationItems, (index) => items[index]!.gold.recommendation!), pick(recommendationItems, (index) => p[index]!.recommendation ?? null), ["yes", "mixed", "no"], options)
      : null,
    completeness: system.answers ? meanEstimate(answered.map((index) => completeness(items[index]!.task, system.answers![index]!, items[index]!.gold.features ?? [])), options) : null,
    domain_specificity: system.answers ? meanEstimate(answered.map((index) => domainSpecificity(system.answers![index]!, productTerms(items[index]!))), options) : null,
    coherence_perplexity: logprobs.length
      ? bootstrap(
          logprobs.length,
          (indices) => {
            const sum = indices.reduce((total, index) => ({ logprob: total.logprob + logprobs[index]!.logprob, tokens: total.tokens + logprobs[index]!.tokens }), { logprob: 0, tokens: 0 });
            return Math.exp(-sum.logprob / sum.tokens);
          },
          options,
        )
      : null,
    latency: system.latency ?? null,
  };
}

/** Training curves from the run's metrics.jsonl (train loss per logged step, eval loss per evaluation). */
export function trainingCurves(runDirectory: string): EvalReport["training"] {
  const curves: EvalReport["training"] = { loss: [], eval_loss: [] };
  for (const record of readRunMetrics(runDirectory).lines) {
    if (record.kind === "train" && typeof record.loss === "number") curves.loss.push({ step: record.step, value: record.loss });
    if ((record.kind === "eval" || record.kind === "final_eval") && typeof record.eval_loss === "number") curves.eval_loss.push({ step: record.step, value: record.eval_loss });
  }
  return curves;
}

/** Where each gold label came from, counted over the evaluated reviews. */
function goldSources(items: readonly EvalItem[]): Record<string, string[]> {
  const sources: Record<string, Set<string>> = {};
  for (const item of items) {
    for (const [label, source] of Object.entries(item.review?.sources ?? { all: "reference answer" })) (sources[label] ??= new Set()).add(source);
  }
  return Object.fromEntries(Object.entries(sources).map(([label, set]) => [label, [...set].sort()]));
}

export async function evaluateRun(options: EvaluateOptions): Promise<EvalReport> {
  const say = options.onStatus ?? (() => {});
  const run = readRunRecord(options.runDirectory);
  requireFinished(run, options.runDirectory);
  const dataDirectory = options.dataDirectory ?? run.data.source;
  if (!hasDatasetFile(dataDirectory, "test")) {
    throw new ConfigError(`the run trained on ${run.data.source}, which has no test split (test.jsonl)`, [], { hint: "pass --data <dataset folder> written by `reviewtune data build`" });
  }
  const dataset = loadEvalDataset(dataDirectory, { limit: options.limit, chatPerReview: options.chatPerReview });
  const items = dataset.items;
  const seed = options.seed ?? DEFAULT_BOOTSTRAP.seed;
  const boot = { samples: options.bootstrapSamples ?? DEFAULT_BOOTSTRAP.samples, seed };
  const baselines = options.baselines ?? BASELINES;
  const batchSize = options.batchSize ?? 8;
  const maxNewTokens = options.maxNewTokens ?? 96;
  const engine = options.engine;
  const backend = options.backend;
  if (!engine && !backend) throw new ConfigError("evaluateRun needs an engine or a backend");
  const tunedModel = runModel(run, options.runDirectory);
  const adapterDir = tunedModel.adapter;
  if (backend && run.result.model_dir) throw new ConfigError(`run ${run.id} trained the whole model (${run.result.model_dir}): evaluate it on the torch path`, [], { hint: "pass --backend torch" });
  if (backend && adapterDir) {
    say(`${backend.name}: loading the adapter ${adapterDir}`);
    await backend.loadAdapter(adapterDir); // probed: an adapter that changes nothing is an error here, not a silent base model
  }

  const baseModel = run.config.model;
  const template = engine ? await chatTemplateFor(engine, run.config.model, run.config.data.template) : undefined;
  const tunedTarget: LanguageModel | undefined = engine
    ? { engine, ...tunedModel, template: template! }
    : undefined;
  const baseTarget: LanguageModel | undefined = engine ? { engine, model: baseModel, template: template! } : undefined;
  const sentimentItems = items.filter((item) => item.task === "sentiment");
  const systems: SystemRun[] = [];

  const languageModels: Array<{ name: string; description: string; target: LanguageModel | undefined; adapter: string | undefined }> = [
    { name: "tuned", description: `${run.config.model.source} + ${adapterDir ? "LoRA adapter" : "fine-tuned weights"} (run ${run.id})`, target: tunedTarget, adapter: adapterDir },
  ];
  if (baselines.includes("base")) languageModels.push({ name: "base", description: `${baseModel.source}, the same prompts, no fine-tuning`, target: baseTarget, adapter: undefined });
  const analysis = backend ? loadAnalysisItems(dataDirectory, { limit: options.limit }) : { items: [], training: [] };
  const analysisRuns: AnalysisRun[] = [];
  for (const { name, description, target, adapter } of languageModels) {
    if (backend && analysis.items.length > 0) {
      say(`${name}: analyzing ${analysis.items.length} reviews (${backend.name}, decoding constrained to the ReviewAnalysis schema)`);
      const analyzed = await analyzeWithBackend(backend, analysis.items, { adapterDir: adapter, chunk: Math.max(backend.concurrency ?? 1, batchSize), signal: options.signal, onProgress: (done) => say(`${name}: ${done}/${analysis.items.length} analyses`) });
      analysisRuns.push({ name, description, ...analyzed });
    }
    say(`${name}: answering ${items.length} chat questions (${backend ? `${backend.name}, chunks of ${batchSize}` : `batches of ${batchSize}`}, greedy)`);
    const onBatch = (done: number) => say(`${name}: ${done}/${items.length} answered`);
    const generated = backend
      ? await generateWithBackend(backend, adapter, items, { chunk: Math.max(backend.concurrency ?? 1, batchSize), maxNewTokens, signal: options.signal, onBatch })
      : await generateAnswers(target!, items, { batchSize, maxNewTokens, signal: options.signal, onBatch });
    // Label-word probabilities and perplexity need the engine's scores: the torch path only.
    let probabilities: Array<Record<string, number> | null> | undefined;
    let logprobs: SystemRun["answerLogprobs"];
    if (!backend && target && baseTarget) {
      say(`${name}: scoring label words for AUC`);
      const scored = await sentimentProbabilities(target, sentimentItems);
      const byItem = new Map(sentimentItems.map((item, index) => [item.id, scored[index]!]));
      probabilities = items.map((item) => byItem.get(item.id) ?? null);
      say(`${name}: answer perplexity under the base model`);
      logprobs = await answerLogprobs(baseTarget, items, generated.answers);
    }
    systems.push({
      name,
      description,
      answers: generated.answers,
      predictions: items.map((item, index) => parseAnswer(item.task, generated.answers[index]!)),
      latency: generated.latency,
      ...(probabilities ? { probabilities } : {}),
      ...(logprobs ? { answerLogprobs: logprobs } : {}),
    });
  }
  if (analysisRuns.length > 0) {
    for (const directory of options.heads ?? []) {
      if (!engine) throw new ConfigError("scoring a classification head needs the engine");
      const head = readRunRecord(directory);
      const labels = head.config.labels!;
      say(`head ${head.id}: classifying ${analysis.items.length} reviews (${labels})`);
      const predicted = await headAnalyses(engine, { choice: classifierOfRun(head, directory), labels }, analysis.items);
      analysisRuns.push({ name: `head (${labels})`, description: `classification head of run ${head.id}: ${head.config.model.source} + ${head.config.method} SEQ_CLS on ${labels}, on the review text`, ...predicted });
    }
    if (baselines.includes("random")) analysisRuns.push({ name: "random", description: "stratified random: each field drawn from the training reviews' labels", analyses: randomAnalyses(analysis.items, analysis.training, seed) });
    if (baselines.includes("rule-based")) analysisRuns.push({ name: "rule-based", description: "the rule-based analyzer on the review text, without its stars", analyses: ruleBasedAnalyses(analysis.items) });
  }
  if (baselines.includes("random")) {
    systems.push({ name: "random", description: "stratified random: labels drawn with the training split's frequencies", predictions: stratifiedRandomPredictions(items, dataset.trainingLabels, seed) });
  }
  if (baselines.includes("rule-based")) {
    systems.push({ name: "rule-based", description: "the project's rule-based analyzer (wink-nlp + rules) on the review text, without its stars", predictions: ruleBasedPredictions(items) });
  }

  const results = systems.map((system) => systemResult(items, system, boot));
  const tuned = systems[0]!;
  const base = systems.find((system) => system.name === "base");
  const random = systems.find((system) => system.name === "random");

  const correct = (system: SystemRun | undefined, index: number) => system !== undefined && system.predictions[index]!.sentiment === items[index]!.gold.sentiment;
  const sentimentIndices = indicesWhere(items, (item) => item.task === "sentiment" && item.gold.sentiment !== undefined);
  const ratingIndices = indicesWhere(items, (item) => item.task === "rating" && item.gold.stars !== undefined);
  const comparisons = base
    ? [
        compareCorrectness({
          a: "tuned",
          b: "base",
          metric: "sentiment accuracy",
          items: sentimentIndices.map((index) => ({
            id: items[index]!.id,
            task: items[index]!.task,
            gold: items[index]!.gold.sentiment!,
            a: { correct: correct(tuned, index), answer: tuned.answers![index]! },
            b: { correct: correct(base, index), answer: base.answers![index]! },
          })),
          bootstrap: boot,
        }),
        compareCorrectness({
          a: "tuned",
          b: "base",
          metric: "rating within one star",
          items: ratingIndices.map((index) => {
            const within = (system: SystemRun) => system.predictions[index]!.stars !== undefined && Math.abs(system.predictions[index]!.stars! - items[index]!.gold.stars!) <= 1;
            return {
              id: items[index]!.id,
              task: items[index]!.task,
              gold: `${items[index]!.gold.stars}/5`,
              a: { correct: within(tuned), answer: tuned.answers![index]! },
              b: { correct: within(base), answer: base.answers![index]! },
            };
          }),
          bootstrap: boot,
        }),
      ]
    : [];

  say("slices: token counts of the reviews");
  const texts = sentimentIndices.map((index) => items[index]!.review?.text ?? items[index]!.messages.at(-1)!.content);
  const counts = texts.length ? (backend ? await backend.countTokens(texts) : (await engine!.request("count_tokens", { model: baseModel, texts })).counts) : [];
  const sliceInputs: SliceInput[] = sentimentIndices.map((index, position) => ({
    gold: items[index]!.gold.sentiment!,
    correct: correct(tuned, index),
    baselineCorrect: random ? correct(random, index) : null,
    category: items[index]!.review?.category ?? null,
    tags: items[index]!.review?.tags ?? [],
    tokens: counts[position]!,
  }));
  const { slices, checks } = computeSlices(sliceInputs, options.settings.targets, boot);

  const tunedLatency = tuned.latency!;
  const secondsPerAnswer = tunedLatency.answers > 0 ? tunedLatency.total_seconds / tunedLatency.answers : 0;
  const cost = options.settings.cost;
  const unparseable = systems.flatMap((system) =>
    system.answers
      ? items.flatMap((item, index) => (isUnparseable(item, system.predictions[index]!) ? [{ system: system.name, id: item.id, task: item.task, answer: system.answers![index]! }] : []))
      : [],
  );
  const caveats: string[] = [];
  const sources = goldSources(items);
  if ((sources.features ?? []).includes("analyzer")) caveats.push("Feature gold labels come from the rule-based analyzer, so the rule-based baseline is scored against its own output on features (and on quality/recommendation where their source is the analyzer): read those rows as agreement, not accuracy.");
  if (options.limit) caveats.push(`Evaluated on the first ${options.limit} test reviews of each task (--limit); intervals are wide accordingly.`);
  if (options.chatPerReview) caveats.push(`Chat tasks: ${options.chatPerReview} question(s) per test review, the tasks taken in turn, so each task is measured on about ${Math.round((100 * options.chatPerReview) / 6)}% of the reviews; the analysis covers every review.`);
  if (backend?.name === "llamacpp") caveats.push("Answers from the llama.cpp path (the base GGUF, Q8_0 by default, with the adapter converted to GGUF LoRA and, for a model file under 1 GiB, merged into a copy of it): no label-word AUC or perplexity, which need the torch engine's scores (--backend torch).");
  const analysisResult = analysisRuns.length > 0 ? analysisReport(analysis.items, analysisRuns, boot) : null;
  if (analysisResult && (analysisResult.gold_sources.quality ?? []).includes("analyzer")) caveats.push("Analysis: quality, recommendation and (without annotated aspects) aspect gold come from the rule-based analyzer, so the rule-based baseline is scored against its own output there; sentiment and stars gold come from the reviews' stars.");
  const adherence = Object.fromEntries(systems.filter((system) => system.answers).map((system) => [system.name, formatAdherence(items.map((item, index) => ({ task: item.task, answer: system.answers![index]! })))]));
  return {
    version: EVAL_REPORT_VERSION,
    created: new Date().toISOString(),
    run: { id: run.id, directory: resolve(options.runDirectory), model: run.config.model.source, adapter: run.result.adapter_dir },
    dataset: { directory: resolve(dataDirectory), split: "test", items: items.length, reviews: dataset.reviews, per_task_limit: options.limit ?? null },
    gold_sources: sources,
    caveats,
    seed,
    bootstrap_samples: boot.samples,
    systems: results,
    comparisons,
    slices,
    checks,
    targets: options.settings.targets,
    unparseable,
    cost: {
      settings: cost,
      seconds_per_answer: secondsPerAnswer,
      local_per_1000: ((secondsPerAnswer * 1000) / 3600) * (cost.power_watts / 1000) * cost.price_per_kwh,
      api_per_1000: cost.api_prices_per_1000,
    },
    training: trainingCurves(options.runDirectory),
    analysis: analysisResult,
    format_adherence: adherence,
    backend: backend?.name ?? "torch",
    items: items.map((item, index) => {
      const read = (prediction: Prediction) => primaryValue(item, prediction);
      const gold = primaryValue(item, { strict: true, ...item.gold });
      return {
        id: item.id,
        task: item.task,
        gold,
        predicted: Object.fromEntries(systems.map((system) => [system.name, read(system.predictions[index]!)])),
        correct: Object.fromEntries(systems.map((system) => [system.name, gold !== null && read(system.predictions[index]!) === gold])),
        prompt: item.messages.at(-1)!.content,
        answers: Object.fromEntries(systems.filter((system) => system.answers).map((system) => [system.name, system.answers![index]!])),
      };
    }),
    examples: items.slice(0, 24).map((item, index) => ({
      id: item.id,
      task: item.task,
      prompt: item.messages.at(-1)!.content,
      reference: item.reference,
      answers: Object.fromEntries(systems.filter((system) => system.answers).map((system) => [system.name, system.answers![index]!])),
    })),
  };
}

/** The one value an item's answer is judged by (features: the normalized sorted list). */
export function primaryValue(item: EvalItem, prediction: Prediction): string | null {
  switch (item.task) {
    case "sentiment":
      return prediction.sentiment ?? null;
    case "rating":
    case "summary":
      return prediction.stars === undefined ? null : `${prediction.stars}/5`;
    case "features":
      return prediction.features ? [...new Set(prediction.features.map(normalizeFeature))].sort().join(", ") : null;
    case "quality":
      return prediction.quality ?? null;
    case "recommendation":
      return prediction.recommendation ?? null;
  }
}

/** The answer gives nothing the task's metric can read. */
export function isUnparseable(item: EvalItem, prediction: Prediction): boolean {
  switch (item.task) {
    case "sentiment":
      return prediction.sentiment === undefined;
    case "rating":
    case "summary":
      return prediction.stars === undefined;
    case "features":
      return prediction.features === undefined;
    case "quality":
      return prediction.quality === undefined;
    case "recommendation":
      return prediction.recommendation === undefined;
  }
}

/** Feature extraction against external aspect gold (SemEval XML): tuned, base and rule-based, P/R/F1 with intervals. */
/** One sentence of `eval --aspects`: its gold terms and each system's answer (null: a baseline that writes none) and the terms read from it (null: unparseable). */
export interface AspectAnswerRow {
  id: string;
  sentence: string;
  gold: string[];
  answers: Record<string, { answer: string | null; terms: string[] | null }>;
}

export async function evaluateAspects(options: Omit<EvaluateOptions, "dataDirectory" | "settings" | "engine"> & { engine: EngineClient; items: EvalItem[] }): Promise<{ systems: SystemResult[]; rows: AspectAnswerRow[] }> {
  const say = options.onStatus ?? (() => {});
  const run = readRunRecord(options.runDirectory);
  requireFinished(run, options.runDirectory);
  const template = await chatTemplateFor(options.engine, run.config.model, run.config.data.template);
  const boot = { samples: options.bootstrapSamples ?? DEFAULT_BOOTSTRAP.samples, seed: options.seed ?? DEFAULT_BOOTSTRAP.seed };
  const targets: Array<{ name: string; description: string; target: LanguageModel }> = [
    {
      name: "tuned",
      description: `run ${run.id}`,
      target: { engine: options.engine, ...runModel(run, options.runDirectory), template },
    },
  ];
  const baselines = options.baselines ?? BASELINES;
  if (baselines.includes("base")) targets.push({ name: "base", description: run.config.model.source, target: { engine: options.engine, model: run.config.model, template } });
  const systems: SystemRun[] = [];
  for (const { name, description, target } of targets) {
    say(`${name}: extracting features from ${options.items.length} sentences`);
    const generated = await generateAnswers(target, options.items, { batchSize: options.batchSize ?? 8, maxNewTokens: options.maxNewTokens ?? 48, signal: options.signal });
    systems.push({ name, description, answers: generated.answers, latency: generated.latency, predictions: options.items.map((item, index) => parseAnswer("features", generated.answers[index]!)) });
  }
  if (baselines.includes("rule-based")) systems.push({ name: "rule-based", description: "rule-based analyzer", predictions: ruleBasedPredictions(options.items) });
  const rows = options.items.map((item, index): AspectAnswerRow => ({
    id: item.id,
    sentence: item.review?.text ?? "",
    gold: item.gold.features ?? [],
    answers: Object.fromEntries(systems.map((system) => [system.name, { answer: system.answers?.[index] ?? null, terms: system.predictions[index]?.features ?? null }])),
  }));
  return { systems: systems.map((system) => systemResult(options.items, system, boot)), rows };
}

// `reviewtune eval` on a run whose test split holds free-text answers (recipe R2's product
// questions, R4's descriptions): the tuned model, the base and a retrieval baseline answer every
// test prompt; each is scored with the text metrics (text-metrics.ts), and the tuned model is
// compared with the others item by item on the headline metric. The retrieval baseline answers
// with the training example whose prompt is most similar (all-MiniLM-L6-v2, the studio's
// reference index): a fine-tune that cannot beat it is not worth training, and the report says so.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { TEXT_EVAL_FORMAT, TEXT_TASKS, TextEvalReportSchema, type Estimate, type TextEvalReport, type TextTask } from "@reviewtune/contracts";
import type { EngineClient } from "../engine/client.js";
import type { GenerationBackend } from "../model/backend.js";
import { SPLIT_FILES, datasetPath, hasDatasetFile, readDatasetCard, readExampleRows } from "../data/dataset-folder.js";
import { ConfigError } from "../errors.js";
import { groundConversations, groundingFolder } from "../references/grounding.js";
import { ReferenceIndex } from "../references/reference-index.js";
import { chatTemplateFor } from "../templates/model-template.js";
import { runModel } from "../train/run-folder.js";
import { readRunRecord, requireFinished } from "../train/runs.js";
import { generateAnswers, generateWithBackend } from "./evaluate.js";
import { formatEstimate } from "./report-markdown.js";
import { DEFAULT_BOOTSTRAP, meanEstimate } from "./statistics.js";
import { rougeL, textMetrics, tokenF1 } from "./text-metrics.js";
import { unsupportedAttributes } from "./attributes.js";
import type { ExampleMessage } from "@reviewtune/contracts";

export const TEXT_BASELINES = ["base", "retrieval"] as const;
export type TextBaseline = (typeof TEXT_BASELINES)[number];

export interface TextItem {
  group: string;
  task: TextTask;
  /** The conversation without the reference answer. */
  messages: ExampleMessage[];
  reference: string;
  slices?: Record<string, string> | undefined;
}

const isTextTask = (task: string): task is TextTask => (TEXT_TASKS as readonly string[]).includes(task);

/**
 * Whether a dataset folder's test split is free text (every task qa or description), from its
 * card's task counts where it has a card (a review dataset's test split is not read for this).
 */
export function isTextDataset(dataDirectory: string): boolean {
  if (existsSync(datasetPath(dataDirectory, "card"))) {
    const tasks = Object.keys(readDatasetCard(dataDirectory).by_task.test ?? {});
    return tasks.length > 0 && tasks.every(isTextTask);
  }
  return loadTextItems(dataDirectory) !== undefined;
}

/** The test split's rows when every one is a free-text task (qa, description); undefined for a review dataset. */
export function loadTextItems(dataDirectory: string): TextItem[] | undefined {
  if (!hasDatasetFile(dataDirectory, "test")) return undefined;
  const rows = readExampleRows(join(dataDirectory, SPLIT_FILES.test), { allowEmpty: true });
  if (rows.length === 0 || !rows.every((row) => isTextTask(row.task))) return undefined;
  return rows.map((row) => ({
    group: row.group,
    task: row.task as TextTask,
    messages: row.messages.slice(0, -1),
    reference: row.messages.at(-1)!.content,
    ...(row.slices ? { slices: row.slices } : {}),
  }));
}

export interface TextEvalOptions {
  runDirectory: string;
  dataDirectory?: string | undefined;
  /** The torch engine: embeddings (retrieval, grounding, similarity), and the answers when no backend is given. */
  engine: EngineClient;
  /** Who writes the tuned and base answers (the llama.cpp path: a chunk's prompts decode together); default the engine. */
  backend?: GenerationBackend | undefined;
  limit?: number | undefined;
  baselines?: readonly TextBaseline[] | undefined;
  batchSize?: number | undefined;
  maxNewTokens?: number | undefined;
  bootstrapSamples?: number | undefined;
  seed?: number | undefined;
  onStatus?: (message: string) => void;
  signal?: AbortSignal | undefined;
}

export interface TextEvalResult {
  report: TextEvalReport;
  /** Each item's prompt, reference and every system's answer, for a side-by-side reading. */
  answers: Array<{ group: string; task: TextTask; prompt: string; reference: string; slices?: Record<string, string> | undefined; answers: Record<string, string> }>;
}

/** The headline metric of a task mix: ROUGE-L when descriptions are there, token F1 for answers. */
function headlineOf(tasks: readonly TextTask[]): "rouge_l" | "token_f1" {
  return tasks.includes("description") ? "rouge_l" : "token_f1";
}

const headlineScore = { rouge_l: (answer: string, reference: string) => rougeL(answer, reference).f1, token_f1: tokenF1 } as const;

function verdict(a: string, b: string, metric: string, difference: Estimate): string {
  const points = (value: number | null) => (value === null ? "n/a" : `${value >= 0 ? "+" : ""}${(100 * value).toFixed(1)}`);
  const interval = `${points(difference.value)} points (95% CI ${points(difference.low)} to ${points(difference.high)})`;
  if (difference.low !== null && difference.low > 0) return `${a} beats ${b} on ${metric}: ${interval}`;
  if (difference.high !== null && difference.high < 0) return `${a} is worse than ${b} on ${metric}: ${interval}${b === "retrieval" ? "; a fine-tune that cannot beat retrieval is not worth training" : ""}`;
  return `${a} and ${b} are not told apart on ${metric}: ${interval}${b === "retrieval" ? "; the fine-tune does not beat retrieval" : ""}`;
}

export async function evaluateTextRun(options: TextEvalOptions): Promise<TextEvalResult> {
  const say = options.onStatus ?? (() => {});
  const run = readRunRecord(options.runDirectory);
  requireFinished(run, options.runDirectory);
  const dataDirectory = options.dataDirectory ?? run.data.source;
  const split = loadTextItems(dataDirectory);
  if (!split) throw new ConfigError(`${dataDirectory} has no test split of qa or description rows`, [], { hint: "pass --data <dataset folder> of a QA or title/description build" });
  const items = options.limit !== undefined ? split.slice(0, options.limit) : split;
  const tasks = TEXT_TASKS.filter((task) => items.some((item) => item.task === task));
  const headline = headlineOf(tasks);
  const baselines = options.baselines ?? TEXT_BASELINES;
  const boot = { samples: options.bootstrapSamples ?? DEFAULT_BOOTSTRAP.samples, seed: options.seed ?? DEFAULT_BOOTSTRAP.seed };
  const template = await chatTemplateFor(options.engine, run.config.model, run.config.data.template);
  const generation = { batchSize: options.batchSize ?? 8, maxNewTokens: options.maxNewTokens ?? (tasks.includes("description") ? 96 : 48), signal: options.signal };
  const tuned = runModel(run, options.runDirectory);
  const backend = options.backend;
  if (backend && run.result.model_dir) throw new ConfigError(`run ${run.id} trained the whole model (${run.result.model_dir}): evaluate it on the torch path`, [], { hint: "pass --backend torch" });
  if (backend && tuned.adapter) {
    say(`${backend.name}: loading the adapter ${tuned.adapter}`);
    await backend.loadAdapter(tuned.adapter); // probed: an adapter that changes nothing is an error here, not a silent base model
  }
  const answerAll = async (name: string, target: { adapter?: string | undefined; model: typeof run.config.model }) => {
    const onBatch = (done: number) => say(`${name}: ${done}/${asked.length} answered`);
    return backend
      ? (await generateWithBackend(backend, target.adapter, asked, { chunk: Math.max(backend.concurrency ?? 1, generation.batchSize), maxNewTokens: generation.maxNewTokens, signal: options.signal, onBatch })).answers
      : (await generateAnswers({ engine: options.engine, ...target, template }, asked, { ...generation, onBatch })).answers;
  };

  // A run trained with grounded prompts is asked with grounded prompts (its training folder's index),
  // and so is the base: the same prompts for both. Items keep their bare prompts for the metrics
  // (an attribute the neighbour names is not supported by the title).
  let asked = items;
  let grounding: TextEvalReport["grounding"];
  const folder = groundingFolder(run);
  if (folder) {
    say(`grounding: finding each test prompt's nearest training example in ${folder} (all-MiniLM-L6-v2)`);
    const index = await ReferenceIndex.open(folder);
    await index.update(options.engine);
    const { conversations, neighbours } = await groundConversations(index, options.engine, items.map((item) => ({ messages: item.messages })));
    asked = items.map((item, at) => ({ ...item, messages: conversations[at]! }));
    const similarities = neighbours.flatMap((neighbour) => (neighbour ? [neighbour.similarity] : []));
    grounding = { mode: "nearest", index: resolve(folder), mean_similarity: similarities.length ? Math.round((similarities.reduce((sum, value) => sum + value, 0) / similarities.length) * 10_000) / 10_000 : null };
  }

  if (backend?.contextLength) {
    // llama.cpp's sequences hold a fixed context: a prompt that leaves no room for the answer is named now, not cut later.
    const counts = await backend.countTokens(asked.map((item) => backend.renderChat(item.messages)));
    const room = backend.contextLength - generation.maxNewTokens;
    const at = counts.findIndex((count) => count > room);
    if (at >= 0) {
      throw new ConfigError(
        `test prompt ${at + 1} of ${join(dataDirectory, SPLIT_FILES.test)} (group ${asked[at]!.group}) takes ${counts[at]} tokens and its answer up to ${generation.maxNewTokens}: ${counts[at]! + generation.maxNewTokens} in all, more than the ${backend.contextLength} a llama.cpp sequence holds`,
        [],
        { hint: "pass --backend torch (the model's whole context), or a smaller --max-tokens" },
      );
    }
  }
  const systems: Array<{ name: string; description: string; answers: string[] }> = [];
  const path = backend ? `${backend.name}, chunks of ${Math.max(backend.concurrency ?? 1, generation.batchSize)}` : `torch, batches of ${generation.batchSize}`;
  say(`tuned: answering ${items.length} test prompts (${path}, greedy)`);
  systems.push({
    name: "tuned",
    description: `${run.config.model.source} + ${tuned.adapter ? "LoRA adapter" : "fine-tuned weights"} (run ${run.id})${grounding ? ", prompts grounded on their nearest training example" : ""}`,
    answers: await answerAll("tuned", tuned),
  });
  if (baselines.includes("base")) {
    say(`base: answering ${items.length} test prompts (${path}, greedy)`);
    systems.push({ name: "base", description: `${run.config.model.source}, the same prompts, no fine-tuning`, answers: await answerAll("base", { model: run.config.model }) });
  }
  options.signal?.throwIfAborted();
  if (baselines.includes("retrieval")) {
    say("retrieval: indexing the training prompts (all-MiniLM-L6-v2)");
    const index = await ReferenceIndex.open(dataDirectory);
    await index.update(options.engine);
    const prompts = items.map((item) => item.messages.filter((message) => message.role === "user").map((message) => message.content).join("\n\n"));
    const found = await index.search(options.engine, prompts, { k: 1 });
    systems.push({ name: "retrieval", description: "the answer of the most similar training prompt (all-MiniLM-L6-v2, cosine)", answers: found.map((references) => references[0]?.answer ?? "") });
  }

  // Descriptions: how close each answer is to its reference in meaning (all-MiniLM-L6-v2), and whether
  // it names an attribute its title does not give. QA-keyword rows: the reference is the keywords.
  const described = items.map((item) => item.task === "description");
  const similarity = new Map<string, number[]>();
  if (described.some(Boolean)) {
    say("embedding every answer and reference (all-MiniLM-L6-v2)");
    const embed = async (texts: string[]) => (texts.length ? (await options.engine.request("embed", { texts: texts.map((text) => text || " ") })).embeddings : []);
    const references = await embed(items.filter((_, index) => described[index]).map((item) => item.reference));
    for (const system of systems) {
      const answers = await embed(system.answers.filter((_, index) => described[index]));
      similarity.set(system.name, answers.map((vector, index) => vector.reduce((sum, value, at) => sum + value * references[index]![at]!, 0)));
    }
  }
  const keywordsOf = (item: TextItem) => (item.slices?.answer_format === "keywords" ? item.reference.split(",").map((keyword) => keyword.trim()).filter(Boolean) : undefined);
  const titleOf = (item: TextItem) => item.messages.filter((message) => message.role === "user").map((message) => message.content).join("\n");
  const scored = systems.map((system) => {
    let next = 0;
    const similarities = similarity.get(system.name);
    return {
      name: system.name,
      description: system.description,
      metrics: textMetrics(
        items.map((item, index) => ({
          prediction: system.answers[index]!,
          reference: item.reference,
          keywords: keywordsOf(item),
          ...(described[index] ? { similarity: similarities?.[next++], title: titleOf(item) } : {}),
        })),
        boot,
      ),
    };
  });
  // The references read as answers: how often the data itself names what the title does not give.
  const titled = items.filter((_, index) => described[index]);
  const references = titled.length > 0 ? { unsupported_attributes: meanEstimate(titled.map((item) => (unsupportedAttributes(titleOf(item), item.reference).length > 0 ? 1 : 0)), boot) } : undefined;
  const score = headlineScore[headline];
  const perItem = new Map(systems.map((system) => [system.name, items.map((item, index) => score(system.answers[index]!, item.reference))]));
  const comparisons = systems
    .filter((system) => system.name !== "tuned")
    .map((other) => {
      const a = perItem.get("tuned")!;
      const b = perItem.get(other.name)!;
      const difference = meanEstimate(a.map((value, index) => value - b[index]!), boot);
      return { a: "tuned", b: other.name, metric: headline, difference, verdict: verdict("tuned", other.name, headline === "rouge_l" ? "ROUGE-L" : "token F1", difference) };
    });
  const report = TextEvalReportSchema.parse({
    format: TEXT_EVAL_FORMAT,
    created: new Date().toISOString(),
    run: run.id,
    dataset: resolve(dataDirectory),
    tasks,
    items: items.length,
    split_items: split.length,
    headline,
    backend: backend?.name ?? "torch",
    ...(grounding ? { grounding } : {}),
    ...(references ? { references } : {}),
    systems: scored,
    comparisons,
  });
  const answers = items.map((item, index) => ({
    group: item.group,
    task: item.task,
    prompt: asked[index]!.messages.map((message) => message.content).join("\n\n"),
    reference: item.reference,
    ...(item.slices ? { slices: item.slices } : {}),
    answers: Object.fromEntries(systems.map((system) => [system.name, system.answers[index]!])),
  }));
  return { report, answers };
}

/** The text report as a table, one row per system. */
export function textTable(report: TextEvalReport): string {
  const cell = formatEstimate;
  type Metrics = TextEvalReport["systems"][number]["metrics"];
  const columns: Array<[string, (metrics: Metrics) => string, (metrics: Metrics) => boolean]> = [
    ["ROUGE-L", (m) => cell(m.rouge_l), () => true],
    ["token F1", (m) => cell(m.token_f1), () => true],
    ["exact match", (m) => cell(m.exact_match), () => true],
    ["length ratio", (m) => (m.length_ratio.value === null ? "n/a" : m.length_ratio.value.toFixed(2)), () => true],
    ["yes/no accuracy", (m) => cell(m.yes_no_accuracy), (m) => m.yes_no_accuracy !== null],
    ["keyword recall", (m) => cell(m.keyword_recall), (m) => m.keyword_recall !== null],
    ["embedding similarity", (m) => cell(m.embedding_similarity ?? null), (m) => m.embedding_similarity != null],
    ["unsupported attributes", (m) => cell(m.unsupported_attributes ?? null), (m) => m.unsupported_attributes != null],
    ["invented attributes (lower is better)", (m) => cell(m.invented_attributes ?? null), (m) => m.invented_attributes != null],
  ];
  // A column no system has a figure for (yes/no accuracy of descriptions, attributes of answers) is left out.
  const shown = columns.filter(([, , measured]) => report.systems.some((system) => measured(system.metrics)));
  const lines = [
    `| system | ${shown.map(([name]) => name).join(" | ")} |`,
    `|---|${shown.map(() => "---|").join("")}`,
    ...report.systems.map(({ name, metrics }) => `| ${name} | ${shown.map(([, value]) => value(metrics)).join(" | ")} |`),
  ];
  return lines.join("\n");
}

/** What each column of the table means, under it in text-report.md. */
const TEXT_METRICS_GLOSSARY = [
  "How to read it: ROUGE-L is the longest common run of words (in order, gaps allowed) shared with the reference, the F1 of its precision and recall, as Google's rouge-score computes it;",
  "token F1 and exact match compare the bags of words after SQuAD's normalization (lowercase, no punctuation or articles); length ratio is the answer's words over the reference's (1.00: as long);",
  "yes/no accuracy (questions whose reference starts with yes or no) asks whether the answer's first word agrees; keyword recall is the share of the reference keywords the answer contains;",
  "embedding similarity is the cosine of the answer's and the reference's all-MiniLM-L6-v2 embeddings. Higher is better except for the attribute columns; a column no system has a figure for is left out.",
].join(" ");

/** eval/text-report.json, text-report.md and text-answers.jsonl in `out`. */
export function writeTextEvalReport(out: string, result: TextEvalResult): { json: string; markdown: string; answers: string } {
  mkdirSync(out, { recursive: true });
  const files = { json: join(out, "text-report.json"), markdown: join(out, "text-report.md"), answers: join(out, "text-answers.jsonl") };
  writeFileSync(files.answers, result.answers.map((row) => JSON.stringify(row)).join("\n") + "\n");
  const { report } = result;
  writeFileSync(
    files.markdown,
    [
      `# Evaluation of run ${report.run} (${report.tasks.join(", ")})`,
      "",
      `${report.items} test prompts of ${report.dataset}${report.split_items !== undefined && report.split_items > report.items ? ` (the first ${report.items} of its ${report.split_items}: --limit)` : ""}; headline metric ${report.headline === "rouge_l" ? "ROUGE-L" : "token F1"}. Values in points with 95% bootstrap intervals.${report.backend === "llamacpp" ? " The tuned and base answers come from the llama.cpp path (the base model as GGUF, the run's adapter converted to a GGUF LoRA), greedy." : ""}`,
      ...(report.grounding
        ? ["", `The run was trained with grounded prompts: the tuned and base models were asked each test prompt with its nearest training example and that example's answer before it (${report.grounding.index}, mean cosine similarity ${report.grounding.mean_similarity ?? "n/a"}); the retrieval baseline answers with the most similar training example's answer alone.`]
        : []),
      "",
      textTable(report),
      "",
      TEXT_METRICS_GLOSSARY,
      ...(report.references
        ? [
            "",
            `Attributes (descriptions): an answer's colour, material, gender or product type is unsupported when its title does not give it, invented when neither the title nor the reference description does. The references themselves name one their title does not give: ${formatEstimate(report.references.unsupported_attributes)} (% of items). Unsupported is not wrong; invented is made up as far as the data can tell.`,
          ]
        : []),
      "",
      ...report.comparisons.map((comparison) => `- ${comparison.verdict}`),
      "",
      ...report.systems.map((system) => `- **${system.name}**: ${system.description}`),
      "",
    ].join("\n"),
  );
  writeFileSync(files.json, `${JSON.stringify(report, null, 2)}\n`); // last: marks the report complete
  return files;
}

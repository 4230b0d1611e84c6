// Training rows in, rendered {prompt, completion} rows out. Accepts JSONL of chat `messages` (the
// model's chat template is applied) or of ready `prompt`/`completion` text (used verbatim), a
// folder holding train.jsonl (+ val.jsonl), or the project's own demo set ("builtin:demo").
// Real review sets are 70-80% positive, so the train split's `analysis` examples can be oversampled
// by sentiment (data.balance) before they reach the engine.
import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_BALANCE_MAX_FACTOR, InstructionRowSchema, parseAnalysis, type BalanceReport, type InstructionRow } from "@reviewtune/contracts";
import { DataError } from "../errors.js";
import type { ChatTemplate } from "../templates/chat-template.js";
import { ANALYSIS_TASK } from "./augment/augment.js";
import { datasetPath, hasDatasetFile } from "./dataset-folder.js";
import { makeDemoExamples } from "./demo-reviews.js";
import { readJsonl } from "./jsonl.js";

export const BUILTIN_DEMO = "builtin:demo";

export interface RenderedRow {
  prompt: string;
  completion: string;
  /** Rows of one group (e.g. one review's tasks) always land in the same split. */
  group: string;
  task?: string;
}

function readRows(file: string): InstructionRow[] {
  return readJsonl(file, InstructionRowSchema, {
    what: "data file",
    missingHint: "check data.train / data.validation (or --data)",
    hint: 'each line needs "messages" (a chat ending with an assistant turn) or "prompt" and "completion" strings',
  });
}

/**
 * Renders rows with the template. `sentiments` (when given) receives the sentiment of every analysis
 * row, read from its answer before the template wraps it: what data.balance balances by, kept out
 * of the rows themselves so the files the engine reads stay {prompt, completion, group, task}.
 */
function render(rows: InstructionRow[], template: ChatTemplate, file: string, sentiments?: Map<RenderedRow, string>): RenderedRow[] {
  return rows.map((row, index) => {
    const group = rowGroup(row, file, index);
    const task = row.task;
    const rendered =
      "messages" in row
        ? { ...template.split(row.messages), group, ...(task ? { task } : {}) }
        : { prompt: row.prompt, completion: row.completion, group, ...(task ? { task } : {}) };
    if (sentiments && task === ANALYSIS_TASK) {
      const answer = "messages" in row ? row.messages.at(-1)!.content : row.completion;
      const parsed = parseAnalysis(answer);
      if (!parsed.ok) {
        throw new DataError(`${file}: analysis row ${index + 1} (group ${group}) has an answer that is not a review analysis: ${parsed.error}`, file, undefined, {
          hint: "rebuild the dataset with `reviewtune data build`, fix the row, or set data.balance: none (balancing reads each analysis answer's sentiment)",
        });
      }
      sentiments.set(rendered, parsed.analysis.sentiment);
    }
    return rendered;
  });
}

/** A seeded shuffle (mulberry32) so a split is the same on every machine. */
export function seededShuffle<T>(items: T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [copy[index], copy[other]] = [copy[other]!, copy[index]!];
  }
  return copy;
}

/** Holds out whole groups until `fraction` of the rows is reached (at least one group when fraction > 0). */
export function splitByGroup(rows: RenderedRow[], fraction: number, seed: number): { train: RenderedRow[]; validation: RenderedRow[] } {
  if (fraction <= 0) return { train: rows, validation: [] };
  const groups = seededShuffle([...new Set(rows.map((row) => row.group))], seed);
  const target = Math.max(1, Math.round(rows.length * fraction));
  const held = new Set<string>();
  let count = 0;
  for (const group of groups) {
    if (count >= target || held.size >= groups.length - 1) break;
    held.add(group);
    count += rows.filter((row) => row.group === group).length;
  }
  return { train: rows.filter((row) => !held.has(row.group)), validation: rows.filter((row) => held.has(row.group)) };
}

export interface DataSpec {
  train?: string | undefined;
  validation?: string | undefined;
  validation_fraction: number;
  demo_reviews: number;
  mix?: { analysis: number; chat: number };
  /** Absent: "none" (config files always have it: TrainConfigSchema's default is "sentiment"). */
  balance?: "sentiment" | "none";
  balance_max_factor?: number;
}

/**
 * Keeps the share of each kind of example that `mix` asks for: analysis examples and chat examples
 * (every other review task), each chosen from a hash of its group and task so that a review's
 * examples are chosen independently and the choice is the same on every machine. Rows without a
 * review task (plain instruction data), and data with no analysis example, are kept whole.
 */
export function applyMix<T extends Pick<RenderedRow, "group" | "task">>(rows: T[], mix: { analysis: number; chat: number } | undefined): T[] {
  if (!mix || !rows.some((row) => row.task === ANALYSIS_TASK)) return rows;
  return rows.filter((row) => {
    if (!row.task) return true;
    const share = row.task === ANALYSIS_TASK ? mix.analysis : mix.chat;
    if (share >= 1) return true;
    return createHash("sha256").update(`${row.group}|${row.task}`).digest().readUInt32BE(0) / 2 ** 32 < share;
  });
}


/** What oversampling did: rows per class before and after (analysis examples of the train split). */
export type { BalanceReport };

export interface PreparedData {
  train: RenderedRow[];
  validation: RenderedRow[];
  source: string;
  /** Set when data.balance is "sentiment" and the train split holds analysis examples. */
  balance?: BalanceReport;
}

/**
 * Repeats the rows of each minority class towards the majority's count, to at most `maxFactor` times
 * the class's own count: whole repeats of every row first, then a seeded draw (without replacement)
 * for the rest, so the same seed gives the same rows. Copies go after the originals (the engine's
 * sampler shuffles every epoch). Rows whose class is undefined are kept as they are.
 */
export function oversampleByClass<T>(rows: T[], classOf: (row: T) => string | undefined, maxFactor: number, seed: number): { rows: T[]; before: Record<string, number>; after: Record<string, number> } {
  const byClass = new Map<string, T[]>();
  for (const row of rows) {
    const name = classOf(row);
    if (name === undefined) continue;
    const members = byClass.get(name);
    if (members) members.push(row);
    else byClass.set(name, [row]);
  }
  const names = [...byClass.keys()].sort();
  const majority = Math.max(0, ...names.map((name) => byClass.get(name)!.length));
  const copies: T[] = [];
  const before: Record<string, number> = {};
  const after: Record<string, number> = {};
  for (const name of names) {
    const members = byClass.get(name)!;
    const extra = Math.min(majority, Math.floor(members.length * maxFactor)) - members.length;
    for (let repeat = 0; repeat < Math.floor(extra / members.length); repeat++) copies.push(...members);
    copies.push(...seededShuffle(members, seed).slice(0, extra % members.length));
    before[name] = members.length;
    after[name] = members.length + extra;
  }
  return { rows: [...rows, ...copies], before, after };
}

/** The rows of a data spec as read from its files (the demo set generated), before the template. */
export interface SourceRows {
  train: InstructionRow[];
  trainFile: string;
  validation?: InstructionRow[] | undefined;
  validationFile?: string | undefined;
}

export function readSourceRows(spec: DataSpec, seed: number): SourceRows {
  if (!spec.train) {
    throw new DataError("no training data: data.train is not set", "data.train", undefined, {
      hint: `pass --data <file.jsonl|folder> (or --data ${BUILTIN_DEMO} for the project's demo set)`,
    });
  }
  if (spec.train === BUILTIN_DEMO) {
    const rows = makeDemoExamples(spec.demo_reviews, seed).map((example) => ({ messages: example.messages, group: example.group, task: example.task }));
    return { train: rows, trainFile: BUILTIN_DEMO };
  }
  let trainFile = spec.train;
  let validationFile = spec.validation;
  if (existsSync(trainFile) && statSync(trainFile).isDirectory()) {
    const folder = trainFile;
    trainFile = datasetPath(folder, "train");
    if (!validationFile && hasDatasetFile(folder, "validation")) validationFile = datasetPath(folder, "validation");
  }
  return { train: readRows(trainFile), trainFile, ...(validationFile ? { validation: readRows(validationFile), validationFile } : {}) };
}

/** A row's group: its own, or (a row without one) its file and line index, so it is split alone. */
export const rowGroup = (row: InstructionRow, file: string, index: number): string => row.group ?? `${file}#${index}`;

/**
 * The groups prepareData holds out of the training file for validation (the same mix and split, read
 * from the groups alone), or undefined when there is a validation file. Grounding needs them before
 * the split is made: a held-out row must not lend its answer to a training prompt.
 */
export function heldOutGroups(spec: Pick<DataSpec, "validation_fraction" | "mix">, seed: number, rows: SourceRows): Set<string> | undefined {
  if (rows.validation) return undefined;
  const grouped = applyMix(rows.train.map((row, index) => ({ group: rowGroup(row, rows.trainFile, index), task: row.task, prompt: "", completion: "" })), spec.mix);
  return new Set(splitByGroup(grouped, spec.validation_fraction, seed).validation.map((row) => row.group));
}

/** Rows rendered with the template, mixed, split and balanced as the spec says; `rows` when already read (and perhaps grounded). */
export function prepareData(spec: DataSpec, template: ChatTemplate, seed: number, rows: SourceRows = readSourceRows(spec, seed)): PreparedData {
  const sentiments = spec.balance === "sentiment" ? new Map<RenderedRow, string>() : undefined;
  let trainRows = render(rows.train, template, rows.trainFile, sentiments);
  let validationRows = rows.validation && rows.validationFile ? render(rows.validation, template, rows.validationFile) : undefined;
  trainRows = applyMix(trainRows, spec.mix);
  if (validationRows) validationRows = applyMix(validationRows, spec.mix);
  const split = validationRows ? { train: trainRows, validation: validationRows } : splitByGroup(trainRows, spec.validation_fraction, seed);
  if (!sentiments || sentiments.size === 0) return { ...split, source: spec.train ?? rows.trainFile };
  const maxFactor = spec.balance_max_factor ?? DEFAULT_BALANCE_MAX_FACTOR;
  const balanced = oversampleByClass(split.train, (row) => sentiments.get(row), maxFactor, seed);
  return { train: balanced.rows, validation: split.validation, source: spec.train ?? rows.trainFile, balance: { by: "sentiment", max_factor: maxFactor, before: balanced.before, after: balanced.after } };
}

export function toJsonl(rows: ReadonlyArray<object>): string {
  return rows.map((row) => JSON.stringify(row)).join("\n") + "\n";
}

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

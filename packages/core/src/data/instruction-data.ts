// Training rows in, rendered {prompt, completion} rows out. Accepts JSONL of chat `messages` (the
// model's chat template is applied) or of ready `prompt`/`completion` text (used verbatim), a
// folder holding train.jsonl (+ val.jsonl), or the project's own demo set ("builtin:demo").
import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { DataError } from "../errors.js";
import type { ChatTemplate } from "../templates/chat-template.js";
import { ANALYSIS_TASK } from "./augment/augment.js";
import { makeDemoExamples } from "./demo-reviews.js";
import { readJsonl } from "./jsonl.js";

export const BUILTIN_DEMO = "builtin:demo";

const MessageSchema = z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string() });
const RowSchema = z.union([
  z.object({ messages: z.array(MessageSchema).min(2), group: z.string().optional(), task: z.string().optional() }),
  z.object({ prompt: z.string(), completion: z.string().min(1), group: z.string().optional(), task: z.string().optional() }),
]);
type Row = z.infer<typeof RowSchema>;

export interface RenderedRow {
  prompt: string;
  completion: string;
  /** Rows of one group (e.g. one review's tasks) always land in the same split. */
  group: string;
  task?: string;
}

function readRows(file: string): Row[] {
  return readJsonl(file, RowSchema, {
    what: "data file",
    missingHint: "check data.train / data.validation (or --data)",
    hint: 'each line needs "messages" (a chat ending with an assistant turn) or "prompt" and "completion" strings',
  });
}

function render(rows: Row[], template: ChatTemplate, file: string): RenderedRow[] {
  return rows.map((row, index) => {
    const group = row.group ?? `${file}#${index}`;
    const task = row.task;
    if ("messages" in row) return { ...template.split(row.messages), group, ...(task ? { task } : {}) };
    return { prompt: row.prompt, completion: row.completion, group, ...(task ? { task } : {}) };
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
}

/**
 * Keeps the share of each kind of example that `mix` asks for: analysis examples and chat examples
 * (every other review task), each chosen from a hash of its group and task so that a review's
 * examples are chosen independently and the choice is the same on every machine. Rows without a
 * review task (plain instruction data), and data with no analysis example, are kept whole.
 */
export function applyMix(rows: RenderedRow[], mix: { analysis: number; chat: number } | undefined): RenderedRow[] {
  if (!mix || !rows.some((row) => row.task === ANALYSIS_TASK)) return rows;
  return rows.filter((row) => {
    if (!row.task) return true;
    const share = row.task === ANALYSIS_TASK ? mix.analysis : mix.chat;
    if (share >= 1) return true;
    return createHash("sha256").update(`${row.group}|${row.task}`).digest().readUInt32BE(0) / 2 ** 32 < share;
  });
}

export interface PreparedData {
  train: RenderedRow[];
  validation: RenderedRow[];
  source: string;
}

export function prepareData(spec: DataSpec, template: ChatTemplate, seed: number): PreparedData {
  if (!spec.train) {
    throw new DataError("no training data: data.train is not set", "data.train", undefined, {
      hint: `pass --data <file.jsonl|folder> (or --data ${BUILTIN_DEMO} for the project's demo set)`,
    });
  }
  let trainRows: RenderedRow[];
  let validationRows: RenderedRow[] | undefined;
  if (spec.train === BUILTIN_DEMO) {
    const rows = makeDemoExamples(spec.demo_reviews, seed).map((example) => ({
      messages: example.messages,
      group: example.group,
      task: example.task,
    }));
    trainRows = render(rows, template, BUILTIN_DEMO);
  } else {
    let trainFile = spec.train;
    let validationFile = spec.validation;
    if (existsSync(trainFile) && statSync(trainFile).isDirectory()) {
      const folder = trainFile;
      trainFile = join(folder, "train.jsonl");
      if (!validationFile && existsSync(join(folder, "val.jsonl"))) validationFile = join(folder, "val.jsonl");
    }
    trainRows = render(readRows(trainFile), template, trainFile);
    if (validationFile) validationRows = render(readRows(validationFile), template, validationFile);
  }
  trainRows = applyMix(trainRows, spec.mix);
  if (validationRows) return { train: trainRows, validation: applyMix(validationRows, spec.mix), source: spec.train };
  const split = splitByGroup(trainRows, spec.validation_fraction, seed);
  return { ...split, source: spec.train };
}

export function toJsonl(rows: ReadonlyArray<object>): string {
  return rows.map((row) => JSON.stringify(row)).join("\n") + "\n";
}

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

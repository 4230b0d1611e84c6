// Rows for task "classify": (review text, class name). From a dataset folder written by `data build`
// (its reviews.jsonl, keeping the build's train/validation split so no review leaks across), or
// from a JSONL file of {text, label} rows (split here by a seeded shuffle).
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { CLASS_LABELS, type ClassLabels } from "@reviewtune/contracts";
import { DataError } from "../errors.js";
import { datasetPath, readReviewRows } from "./dataset-folder.js";
import { seededShuffle, type DataSpec } from "./instruction-data.js";
import { readJsonl } from "./jsonl.js";

export interface ClassificationRow {
  text: string;
  label: string;
}

export interface PreparedClassificationData {
  train: ClassificationRow[];
  validation: ClassificationRow[];
  source: string;
  /** Where the labels came from (reviews.jsonl): "rating" = the reviewer's stars, "analyzer" = read from the text. */
  labelSources: Record<string, number>;
}

function labeledRowSchema(labels: ClassLabels) {
  const names = CLASS_LABELS[labels] as readonly string[];
  return z.object({
    text: z.string().min(1),
    label: z.union([z.string(), z.number()]).transform((value) => String(value)).refine((value) => names.includes(value), {
      message: `label must be one of ${names.join(", ")}`,
    }),
  });
}

function fromReviews(file: string, labels: ClassLabels): PreparedClassificationData & { test: number } {
  const reviews = readReviewRows(file);
  const train: ClassificationRow[] = [];
  const validation: ClassificationRow[] = [];
  const labelSources: Record<string, number> = {};
  let test = 0;
  for (const review of reviews) {
    const label = labels === "rating" ? { name: String(review.labels.rating.stars), source: review.labels.rating.source } : { name: review.labels.sentiment.label, source: review.labels.sentiment.source };
    // The test split stays untouched: it is the evaluation's, never trained on or used to pick a checkpoint.
    if (review.split === "test") {
      test += 1;
      continue;
    }
    labelSources[label.source] = (labelSources[label.source] ?? 0) + 1;
    (review.split === "train" ? train : validation).push({ text: review.text, label: label.name });
  }
  return { train, validation, source: file, labelSources, test };
}

/** Holds out `fraction` of the rows (at least one) by a seeded shuffle, for files that carry no split. */
function holdOut(rows: ClassificationRow[], fraction: number, seed: number): { train: ClassificationRow[]; validation: ClassificationRow[] } {
  if (fraction <= 0 || rows.length < 2) return { train: rows, validation: [] };
  const shuffled = seededShuffle(rows, seed);
  const count = Math.min(rows.length - 1, Math.max(1, Math.round(rows.length * fraction)));
  return { train: shuffled.slice(count), validation: shuffled.slice(0, count) };
}

export function prepareClassificationData(spec: DataSpec, labels: ClassLabels, seed: number): PreparedClassificationData {
  if (!spec.train) {
    throw new DataError("no training data: data.train is not set", "data.train", undefined, {
      hint: "pass --data <dataset folder from `reviewtune data build`> or a JSONL of {text, label} rows",
    });
  }
  if (!existsSync(spec.train)) throw new DataError(`data ${spec.train} does not exist`, spec.train, undefined, { hint: "check data.train / --data" });
  if (statSync(spec.train).isDirectory()) {
    const file = datasetPath(spec.train, "reviews");
    if (!existsSync(file)) {
      throw new DataError(`${spec.train} has no reviews.jsonl, so it holds no labeled reviews to classify`, file, undefined, {
        hint: "build the folder with `reviewtune data build --input reviews.csv --out DIR` (instruction-only files carry no review labels)",
      });
    }
    const { test: _test, ...prepared } = fromReviews(file, labels);
    if (prepared.train.length === 0) throw new DataError(`${file} has no review in the train split`, file);
    if (prepared.validation.length > 0) return prepared;
    return { ...prepared, ...holdOut(prepared.train, spec.validation_fraction, seed) };
  }
  const options = { what: "data file", hint: `each line needs "text" and "label" (one of ${CLASS_LABELS[labels].join(", ")})` };
  const rows = readJsonl(spec.train, labeledRowSchema(labels), options);
  const labelSources = { file: rows.length };
  if (spec.validation) return { train: rows, validation: readJsonl(spec.validation, labeledRowSchema(labels), options), source: spec.train, labelSources };
  return { ...holdOut(rows, spec.validation_fraction, seed), source: spec.train, labelSources };
}

/** Rows per class, in the head's order: shown in the plan and the run summary. */
export function classCounts(rows: ClassificationRow[], labels: ClassLabels): Record<string, number> {
  const counts = Object.fromEntries(CLASS_LABELS[labels].map((name) => [name, 0])) as Record<string, number>;
  for (const row of rows) counts[row.label] = (counts[row.label] ?? 0) + 1;
  return counts;
}

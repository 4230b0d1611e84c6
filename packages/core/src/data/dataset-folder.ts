// The dataset folder's owner (what `reviewtune data build` and `data demo` write): where each of its
// files lives. Commands, the evaluator, the server and the studio go through here instead of
// spelling the folder out. The card is written last: a folder with card.json is complete.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { SplitName } from "./builder/splits.js";

/** What a dataset folder holds, relative to it. */
export const DATASET_PATHS = {
  /** The splits: instruction examples, one JSON object per line, a review's examples in one split. */
  train: "train.jsonl",
  validation: "val.jsonl",
  test: "test.jsonl",
  /** Every accepted review with its labels and split (the analysis gold, classification heads). */
  reviews: "reviews.jsonl",
  /** Every rejected row: file, line, reason, the row. */
  rejected: "rejected.jsonl",
  /** The card: counts, sources, label sources (JSON, written last) and its Markdown rendering. */
  card: "card.json",
  cardMarkdown: "card.md",
  /** The training references' vector index (the studio's "from training" answers). */
  references: "references",
} as const;
export type DatasetPath = keyof typeof DATASET_PATHS;

/** The path of one of a dataset folder's files. */
export function datasetPath(folder: string, path: DatasetPath): string {
  return join(folder, DATASET_PATHS[path]);
}

/** The split files by split name. */
export const SPLIT_FILES: Record<SplitName, string> = { train: DATASET_PATHS.train, validation: DATASET_PATHS.validation, test: DATASET_PATHS.test };

/** A folder with the given file (a dataset folder has them all once its card is written). */
export function hasDatasetFile(folder: string, path: DatasetPath): boolean {
  return existsSync(datasetPath(folder, path));
}

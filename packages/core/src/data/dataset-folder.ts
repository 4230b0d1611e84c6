// The dataset folder's owner (what `reviewtune data build` and `data demo` write): where each of its
// files lives. Commands, the evaluator, the server and the studio go through here instead of
// spelling the folder out, and read its records through the schemas in contracts (dataset.ts). The
// card is written last: a folder with card.json is complete.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DATASET_FORMAT, DatasetCardSchema, ExampleRowSchema, RejectionSchema, ReviewRowSchema, type DatasetCard, type ExampleRow, type Rejection, type ReviewRow, type SplitName } from "@reviewtune/contracts";
import { DataError } from "../errors.js";
import { readRecordFile } from "../files.js";
import { readJsonl } from "./jsonl.js";

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

const REBUILD = "rebuild the folder with `reviewtune data build` (or `reviewtune data demo`)";

/**
 * The folder's card.json. A folder without one is not a complete dataset (the build writes it last);
 * a card another version wrote, or a damaged one, is refused naming the file and field.
 */
export function readDatasetCard(folder: string): DatasetCard {
  const file = datasetPath(folder, "card");
  if (!existsSync(folder)) throw new DataError(`dataset folder ${folder} does not exist`, folder, undefined, { hint: "check the path; a dataset folder is made by `reviewtune data build` (or `reviewtune data demo`)" });
  if (!existsSync(file)) throw new DataError(`${folder} is not a complete dataset (no card.json)`, file, undefined, { hint: `build one: ${REBUILD}` });
  return readRecordFile(file, DATASET_FORMAT, DatasetCardSchema, REBUILD);
}

/** The examples of a split file (or of any file in that form), each line checked; `what` names the file in errors. */
export function readExampleRows(file: string, options: { what?: string; allowEmpty?: boolean } = {}): ExampleRow[] {
  return readJsonl(file, ExampleRowSchema, {
    what: options.what ?? "split file",
    hint: `each line needs "group", "task" and "messages" (a chat ending with the answer), as \`reviewtune data build\` writes them; ${REBUILD}`,
    ...(options.allowEmpty ? { allowEmpty: true } : {}),
  });
}

/** reviews.jsonl: every accepted review with its labels and split. */
export function readReviewRows(file: string): ReviewRow[] {
  return readJsonl(file, ReviewRowSchema, { what: "reviews file", hint: `reviews.jsonl is written by \`reviewtune data build\`; ${REBUILD}`, allowEmpty: true });
}

/** rejected.jsonl: every rejected row with its file, line and reason; none when the file is missing. */
export function readRejections(file: string): Rejection[] {
  return existsSync(file) ? readJsonl(file, RejectionSchema, { what: "rejections file", hint: REBUILD, allowEmpty: true }) : [];
}

// The dataset folders the studio shows (written by `reviewtune data build|demo`): card.json, the
// split files, reviews.jsonl (category and sentiment of each row's review) and rejected.jsonl, read
// through core's dataset-folder readers (the records' schemas are in contracts). A data dir is a
// dataset folder itself or a folder of them. Files are read once per change (mtime).
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { z } from "zod";
import { InstructionRowSchema, parseJson, type ChatRow, type DatasetCard, type DatasetRow, type DatasetRowsQuery, type DatasetRowsResponse, type DatasetSummary, type RejectedResponse } from "@reviewtune/contracts";
import { DATASET_PATHS, DataError, datasetPath, hasDatasetFile, readDatasetCard, readJsonl, readRejections, readReviewRows } from "@reviewtune/core";
import { notFound, StudioApiError } from "../http/studio-error.js";

/** The splits by the names the studio API uses. */
export const SPLIT_FILES = { train: DATASET_PATHS.train, val: DATASET_PATHS.validation, test: DATASET_PATHS.test } as const;

/** A split file's row: a dataset example, or (a folder of the user's own instruction data) a chat or a prompt and completion. */
export type Example = Partial<ChatRow> & { prompt?: string; completion?: string };

/** A JSONL file's rows, each checked by `schema` (a bad line names file:line); none when the file is missing. */
export function readLines<S extends z.ZodType>(file: string, schema: S): Array<z.output<S>> {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim())
    .map((line, index) => parseJson(line, schema, `${file}:${index + 1}`));
}

export class DatasetStore {
  private readonly cache = new Map<string, { mtime: number; value: unknown }>();

  constructor(private readonly dataDirs: string[]) {}

  /** Every dataset folder under the data dirs, by name (the folder's name). */
  folders(): Map<string, string> {
    const found = new Map<string, string>();
    const isDataset = (folder: string) => hasDatasetFile(folder, "card") || hasDatasetFile(folder, "train");
    for (const dir of this.dataDirs.map((entry) => resolve(entry))) {
      if (!existsSync(dir) || !statSync(dir).isDirectory()) continue;
      if (isDataset(dir)) found.set(basename(dir), dir);
      else for (const name of readdirSync(dir).sort()) if (statSync(join(dir, name)).isDirectory() && isDataset(join(dir, name))) found.set(name, join(dir, name));
    }
    return found;
  }

  folder(name: string): string {
    const folder = this.folders().get(name);
    if (!folder) throw notFound(`dataset "${name}"`, "build one with `reviewtune data demo --out data/demo` or `reviewtune data build`, and start the studio with --data pointing at it");
    return folder;
  }

  private cached<T>(file: string, read: () => T): T {
    const mtime = existsSync(file) ? statSync(file).mtimeMs : -1;
    const hit = this.cache.get(file);
    if (hit && hit.mtime === mtime) return hit.value as T;
    const value = read();
    this.cache.set(file, { mtime, value });
    return value;
  }

  /** The folder's card; null for a folder of the user's own instruction data (a train.jsonl without a card). */
  card(name: string): DatasetCard | null {
    const folder = this.folder(name);
    const file = datasetPath(folder, "card");
    return existsSync(file) ? this.cached(file, () => readDatasetCard(folder)) : null;
  }

  list(): DatasetSummary[] {
    return [...this.folders()].map(([name, directory]) => {
      // One unreadable card (another version's, damaged) must not hide every other dataset: listed, with why.
      let card: DatasetCard | null = null;
      let problem: string | null = null;
      try {
        card = this.card(name);
      } catch (error) {
        if (!(error instanceof DataError)) throw error;
        problem = error.hint ? `${error.message} (${error.hint})` : error.message;
      }
      const splits: DatasetSummary["splits"] = {};
      for (const [split, file] of Object.entries(SPLIT_FILES)) if (existsSync(join(directory, file))) splits[split as keyof typeof SPLIT_FILES] = this.examples(name, split as keyof typeof SPLIT_FILES).length;
      const rejected = Object.values(card?.rejected ?? {}).reduce((sum, count) => sum + count, 0);
      return { name, directory, created: card?.created ?? null, reviews: card?.reviews ?? null, examples: card?.examples ?? null, splits, rejected, problem };
    });
  }

  examples(name: string, split: keyof typeof SPLIT_FILES): Example[] {
    const file = join(this.folder(name), SPLIT_FILES[split]);
    return this.cached(file, (): Example[] => (existsSync(file) ? readJsonl(file, InstructionRowSchema, { what: "split file", hint: 'each line needs "messages" (a chat ending with the answer) or "prompt" and "completion"', allowEmpty: true }) : []));
  }

  private reviews(name: string): Map<string, { category: string | null; sentiment: string | null }> {
    const file = datasetPath(this.folder(name), "reviews");
    return this.cached(file, () => new Map((existsSync(file) ? readReviewRows(file) : []).map((review) => [review.id, { category: review.category ?? null, sentiment: review.labels.sentiment.label }])));
  }

  example(name: string, split: keyof typeof SPLIT_FILES, index: number): Example {
    const example = this.examples(name, split)[index];
    if (!example) throw new StudioApiError(404, "not_found", `${SPLIT_FILES[split]} of "${name}" has no row ${index}`, { hint: "pick a row from the list" });
    return example;
  }

  rows(name: string, query: DatasetRowsQuery): DatasetRowsResponse {
    const reviews = this.reviews(name);
    const all: DatasetRow[] = this.examples(name, query.split).map((example, index) => {
      const review = example.group ? reviews.get(example.group) : undefined;
      const user = example.messages?.filter((message) => message.role === "user").at(-1)?.content ?? example.prompt ?? "";
      const answer = example.messages?.filter((message) => message.role === "assistant").at(-1)?.content ?? example.completion ?? "";
      return { index, task: example.task ?? "", review: example.group ?? null, category: review?.category ?? null, sentiment: review?.sentiment ?? null, prompt: user, answer };
    });
    const values = (pick: (row: DatasetRow) => string | null) => [...new Set(all.map(pick).filter((value): value is string => !!value))].sort();
    const kept = all.filter((row) => (!query.task || row.task === query.task) && (!query.category || row.category === query.category) && (!query.sentiment || row.sentiment === query.sentiment));
    return {
      split: query.split,
      total: kept.length,
      offset: query.offset,
      limit: query.limit,
      rows: kept.slice(query.offset, query.offset + query.limit),
      facets: { task: values((row) => row.task), category: values((row) => row.category), sentiment: values((row) => row.sentiment) },
    };
  }

  rejected(name: string, offset: number, limit: number): RejectedResponse {
    const file = datasetPath(this.folder(name), "rejected");
    const rows = this.cached(file, () => readRejections(file));
    const counts: Record<string, number> = {};
    for (const row of rows) counts[row.reason] = (counts[row.reason] ?? 0) + 1;
    return { total: rows.length, offset, rows: rows.slice(offset, offset + limit).map((row) => ({ file: row.file, line: row.line, reason: row.reason, detail: row.detail })), counts };
  }
}

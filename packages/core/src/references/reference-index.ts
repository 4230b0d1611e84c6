// Training references: every training example of a dataset embedded with all-MiniLM-L6-v2 (through
// the engine) in an on-disk LanceDB table beside the dataset, so an answer can be shown with the
// training examples its question resembles most (recipe R4's "training references").
// The index is incremental: rows are keyed by a hash of their content, so a rebuilt or extended
// dataset embeds only its new examples and drops the ones that are gone.
import { createHash } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
// Loaded when an index is opened: LanceDB is a native module (~30 MB resident) most commands never use.
import type * as lancedb from "@lancedb/lancedb";
import type { EngineClient } from "../engine/client.js";
import { DataError } from "../errors.js";
import { DATASET_PATHS, datasetPath, hasDatasetFile } from "../data/dataset-folder.js";
import { readJsonl } from "../data/jsonl.js";
import { userTurns } from "../templates/chat-template.js";
import { ChatRowSchema, type ChatRow } from "@reviewtune/contracts";

export const REFERENCE_MODEL = "all-minilm-l6-v2";
const TABLE = "examples";
/** Texts per engine request: large enough to keep the engine busy, small enough to show progress. */
const EMBED_BATCH = 256;


export interface ReferenceExample {
  id: string;
  split: string;
  task: string;
  group: string;
  /** The user's turn(s): what a question is compared with. */
  prompt: string;
  /** The trained answer. */
  answer: string;
}

export interface Reference extends ReferenceExample {
  /** Cosine similarity of the query with the example's prompt, in [-1, 1]. */
  similarity: number;
}

/** Sentence embeddings with all-MiniLM-L6-v2: the engine itself, or a function (the server's backend). */
export type Embedder = EngineClient | ((texts: string[]) => Promise<number[][]>);

async function embedWith(embedder: Embedder, texts: string[]): Promise<number[][]> {
  if (typeof embedder === "function") return embedder(texts);
  return (await embedder.request("embed", { model: REFERENCE_MODEL, texts })).embeddings;
}

export interface IndexUpdate {
  total: number;
  added: number;
  removed: number;
  seconds: number;
}

/** A training row as a reference example; the id is a hash of everything shown, so edits re-embed. */
export function referenceExample(row: ChatRow, split: string): ReferenceExample {
  const prompt = userTurns(row.messages);
  const answer = [...row.messages].reverse().find((message) => message.role === "assistant")?.content ?? "";
  const id = createHash("sha256").update(JSON.stringify([split, row.task ?? "", row.group ?? "", prompt, answer])).digest("hex").slice(0, 32);
  return { id, split, task: row.task ?? "", group: row.group ?? "", prompt, answer };
}

/** The index of one dataset folder, in `<dataset>/references/`. */
export class ReferenceIndex {
  private constructor(
    readonly dataset: string,
    private readonly db: lancedb.Connection,
  ) {}

  static async open(dataset: string): Promise<ReferenceIndex> {
    if (!hasDatasetFile(dataset, "train")) {
      throw new DataError(`${dataset} has no ${DATASET_PATHS.train}`, datasetPath(dataset, "train"), undefined, {
        hint: "pass a dataset folder written by `reviewtune data build` or `reviewtune data demo`",
      });
    }
    const { connect } = await import("@lancedb/lancedb");
    return new ReferenceIndex(dataset, await connect(datasetPath(dataset, "references")));
  }

  private async table(): Promise<lancedb.Table | undefined> {
    return (await this.db.tableNames()).includes(TABLE) ? this.db.openTable(TABLE) : undefined;
  }

  /** The training examples as they are now in the dataset folder. */
  examples(): ReferenceExample[] {
    const file = datasetPath(this.dataset, "train");
    const rows = readJsonl(file, ChatRowSchema, { what: "training file", hint: 'each line needs "messages" (a chat ending with the answer)' });
    const seen = new Set<string>();
    return rows.map((row) => referenceExample(row, "train")).filter((example) => !seen.has(example.id) && seen.add(example.id));
  }

  /** Embeds the examples the index lacks and removes the ones the dataset no longer has. */
  async update(embedder: Embedder, options: { onProgress?: (done: number, todo: number) => void } = {}): Promise<IndexUpdate> {
    const started = performance.now();
    const wanted = this.examples();
    let table = await this.table();
    const present = new Set<string>(table ? (await table.query().select(["id"]).toArray()).map((row) => String(row.id)) : []);
    const wantedIds = new Set(wanted.map((example) => example.id));
    const stale = [...present].filter((id) => !wantedIds.has(id));
    if (table && stale.length > 0) {
      for (let offset = 0; offset < stale.length; offset += 500) {
        await table.delete(`id IN (${stale.slice(offset, offset + 500).map((id) => `'${id}'`).join(", ")})`);
      }
    }
    const missing = wanted.filter((example) => !present.has(example.id));
    for (let offset = 0; offset < missing.length; offset += EMBED_BATCH) {
      const batch = missing.slice(offset, offset + EMBED_BATCH);
      const embeddings = await embedWith(embedder, batch.map((example) => example.prompt));
      const rows = batch.map((example, index) => ({ ...example, vector: embeddings[index]! }));
      // Each batch is committed on its own: an interrupted update keeps what it embedded.
      if (table) await table.add(rows);
      else table = await this.db.createTable(TABLE, rows);
      options.onProgress?.(offset + batch.length, missing.length);
    }
    const total = table ? await table.countRows() : 0;
    const update = { total, added: missing.length, removed: stale.length, seconds: (performance.now() - started) / 1000 };
    writeFileSync(join(datasetPath(this.dataset, "references"), "index.json"), `${JSON.stringify({ model: REFERENCE_MODEL, ...update, updated: new Date().toISOString() }, null, 2)}\n`);
    return update;
  }

  /** Every indexed example with its vector (all-MiniLM-L6-v2), vectors row after row in one array. */
  async entries(): Promise<{ examples: ReferenceExample[]; vectors: Float32Array; dimensions: number }> {
    const table = await this.table();
    if (!table) return { examples: [], vectors: new Float32Array(0), dimensions: 0 };
    const rows = await table.query().select(["id", "split", "task", "group", "prompt", "answer", "vector"]).toArray();
    const dimensions = rows.length > 0 ? (rows[0].vector as { length: number }).length : 0;
    const vectors = new Float32Array(rows.length * dimensions);
    const examples = rows.map((row, at) => {
      vectors.set(Float32Array.from(row.vector as Iterable<number>), at * dimensions);
      return { id: String(row.id), split: String(row.split), task: String(row.task), group: String(row.group), prompt: String(row.prompt), answer: String(row.answer) };
    });
    return { examples, vectors, dimensions };
  }

  /** The k training examples whose prompts are most similar to each query (cosine similarity). */
  async search(embedder: Embedder, queries: string[], options: { k?: number; task?: string } = {}): Promise<Reference[][]> {
    const table = await this.table();
    if (!table) return queries.map(() => []);
    const embeddings = await embedWith(embedder, queries);
    const results: Reference[][] = [];
    for (const vector of embeddings) {
      let search = table.vectorSearch(vector).distanceType("cosine").limit(options.k ?? 5);
      if (options.task) search = search.where(`task = '${options.task.replace(/'/g, "''")}'`);
      const rows = await search.toArray();
      results.push(
        rows.map((row) => ({
          id: String(row.id),
          split: String(row.split),
          task: String(row.task),
          group: String(row.group),
          prompt: String(row.prompt),
          answer: String(row.answer),
          similarity: Math.round((1 - Number(row._distance)) * 10_000) / 10_000,
        })),
      );
    }
    return results;
  }
}

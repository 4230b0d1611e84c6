// `reviewtune data demo`: the project's own demo data as a dataset folder, through the same
// validation, split and card path as real data: reviews (labels known by construction, source
// "generator"), or the demo catalogue's title -> description pairs (recipe R4) or its product
// questions with short answers (recipe R2).
import { createHash } from "node:crypto";
import { demoEntry, makeDemoReviews } from "../demo-reviews.js";
import { demoQuestions, makeDemoProducts } from "../demo-catalogue.js";
import { instructionRow } from "../sources/instructions.js";
import { writeDataset, type BuildEntry, type WriteOptions } from "./build-dataset.js";
import type { DatasetCard } from "./card.js";

export const DEMO_KINDS = ["reviews", "descriptions", "qa"] as const;
export type DemoKind = (typeof DEMO_KINDS)[number];

/** The demo catalogue's rows as a builder's entries: validated as a file of that kind would be. */
function catalogueEntries(kind: Exclude<DemoKind, "reviews">, count: number, seed: number): BuildEntry[] {
  const products = makeDemoProducts(count, seed);
  const file = `builtin:demo-${kind}`;
  const rows: Array<Record<string, unknown>> =
    kind === "descriptions" ? products.map(({ id, title, description }) => ({ id, title, description })) : demoQuestions(products, seed).map((question) => ({ ...question }));
  return rows.map((value, index) => {
    const row = instructionRow(kind === "descriptions" ? "title_description" : "qa_answer", { file, line: index + 1, unit: "line", value });
    return "reason" in row ? { rejection: row } : { example: row };
  });
}

/** `reviews` for the reviews (default 500); `products` for the catalogue kinds (default 300: a product gives one description or two questions). */
export async function buildDemoDataset(options: WriteOptions & { reviews?: number | undefined; products?: number | undefined; kind?: DemoKind | undefined }): Promise<DatasetCard> {
  const seed = options.seed ?? 42;
  const kind = options.kind ?? "reviews";
  const count = kind === "reviews" ? (options.reviews ?? 500) : (options.products ?? 300);
  const entries: BuildEntry[] = kind === "reviews" ? makeDemoReviews(count, seed).map(demoEntry) : catalogueEntries(kind, count, seed);
  const name = kind === "reviews" ? "demo" : `demo-${kind}`;
  const digest = createHash("sha256").update(`builtin:${name}:${count}:${seed}`).digest("hex");
  const what = kind === "reviews" ? `${count} reviews` : `${count} products`;
  return writeDataset(entries, options, { inputs: [`builtin:${name} (${what}, seed ${seed})`], config: kind === "reviews" ? { demo_reviews: count } : { demo: kind, products: count }, inputHash: () => digest });
}

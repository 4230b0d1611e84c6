#!/usr/bin/env node
// Dev check: how often the rule-based analyzer, reading only the text, agrees with the reviewers'
// own star ratings. Reads ../shared/data/reviews-marc-en (research data, never copied into this
// repo) or the CSV/JSONL files given as arguments. Run `npm run build` first.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { analyzeReview } from "../packages/core/dist/data/labels/analyzer.js";
import { readRecords } from "../packages/core/dist/data/sources/records.js";
import { ReviewValidator } from "../packages/core/dist/data/sources/reviews.js";

const defaultFolder = new URL("../../shared/data/reviews-marc-en/", import.meta.url).pathname;
let files = process.argv.slice(2);
if (files.length === 0) {
  if (!existsSync(defaultFolder)) {
    console.error(`no input: ${defaultFolder} is not here; pass review files (CSV/JSONL with text and rating) as arguments`);
    process.exit(2);
  }
  files = readdirSync(defaultFolder).filter((name) => name.endsWith(".csv")).map((name) => join(defaultFolder, name));
}
const gold = (stars) => (stars <= 2 ? "negative" : stars === 3 ? "neutral" : "positive");
const confusion = {};
let count = 0, agree = 0, within1 = 0, absolute = 0;
const started = performance.now();
for (const file of files) {
  const validator = new ReviewValidator();
  for await (const record of readRecords(file)) {
    const review = validator.accept(record);
    if (!review || review.rating === undefined) continue;
    const labels = analyzeReview({ text: review.title ? `${review.title}. ${review.text}` : review.text, category: review.category });
    const truth = gold(review.rating);
    count += 1;
    if (labels.sentiment.label === truth) agree += 1;
    const error = Math.abs(labels.rating.stars - review.rating);
    absolute += error;
    if (error <= 1) within1 += 1;
    confusion[truth] ??= { negative: 0, neutral: 0, positive: 0 };
    confusion[truth][labels.sentiment.label] += 1;
  }
}
const seconds = (performance.now() - started) / 1000;
console.log(`${count} reviews with ratings from ${files.length} file(s), ${(count / seconds).toFixed(0)} reviews/s`);
console.log(`sentiment accuracy vs stars (3 classes): ${(agree / count).toFixed(3)}`);
console.log(`stars: MAE ${(absolute / count).toFixed(2)}, within 1 star ${(within1 / count).toFixed(3)}`);
console.log("confusion (rows: from stars, columns: analyzer)");
for (const [truth, row] of Object.entries(confusion)) console.log(`  ${truth.padEnd(8)} ${JSON.stringify(row)}`);

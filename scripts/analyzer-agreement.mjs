#!/usr/bin/env node
// Dev check: how often the rule-based analyzer, reading only the text, agrees with the reviewers'
// own star ratings. Reads ../shared/data/reviews-marc-en (research data, never copied into this
// repo) or the CSV/JSONL files given as arguments. With ../shared/data/aspects-semeval14-laptops
// beside it, also its features against the annotated aspect terms. Run `npm run build` first.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { sentimentOfStars } from "../packages/contracts/dist/vocabulary.js";
import { readSemEvalSentences } from "../packages/core/dist/data/sources/semeval.js";
import { featureCounts } from "../packages/core/dist/eval/metrics.js";
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
const gold = sentimentOfStars;
const CLASSES = ["negative", "neutral", "positive"];
const started = performance.now();
const totals = newTally();
const perFile = [];
function newTally() {
  return { count: 0, agree: 0, within1: 0, absolute: 0, confusion: Object.fromEntries(CLASSES.map((truth) => [truth, { negative: 0, neutral: 0, positive: 0 }])) };
}
function add(tally, truth, predicted, error) {
  tally.count += 1;
  if (predicted === truth) tally.agree += 1;
  tally.absolute += error;
  if (error <= 1) tally.within1 += 1;
  tally.confusion[truth][predicted] += 1;
}
function macroF1(confusion) {
  const f1 = CLASSES.map((label) => {
    const tp = confusion[label][label];
    const fp = CLASSES.reduce((sum, truth) => sum + (truth === label ? 0 : confusion[truth][label]), 0);
    const fn = CLASSES.reduce((sum, predicted) => sum + (predicted === label ? 0 : confusion[label][predicted]), 0);
    return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  });
  return f1.reduce((sum, value) => sum + value, 0) / CLASSES.length;
}
const line = (tally) =>
  `sentiment accuracy ${(tally.agree / tally.count).toFixed(3)}, macro F1 ${macroF1(tally.confusion).toFixed(3)}; stars MAE ${(tally.absolute / tally.count).toFixed(2)}, within 1 star ${(tally.within1 / tally.count).toFixed(3)}`;
for (const file of files) {
  const validator = new ReviewValidator();
  const tally = newTally();
  for await (const record of readRecords(file)) {
    const review = validator.accept(record);
    if (!review || review.rating === undefined) continue;
    const labels = analyzeReview({ text: review.title ? `${review.title}. ${review.text}` : review.text, category: review.category });
    const truth = gold(review.rating);
    const error = Math.abs(labels.rating.stars - review.rating);
    add(tally, truth, labels.sentiment.label, error);
    add(totals, truth, labels.sentiment.label, error);
  }
  perFile.push([file, tally]);
}
const seconds = (performance.now() - started) / 1000;
console.log(`${totals.count} reviews with ratings from ${files.length} file(s), ${(totals.count / seconds).toFixed(0)} reviews/s (3 classes from stars: 1-2 negative, 3 neutral, 4-5 positive)`);
for (const [file, tally] of perFile) console.log(`  ${file.split("/").pop()} (${tally.count}): ${line(tally)}`);
console.log(`all: ${line(totals)}`);
console.log("confusion (rows: from stars, columns: analyzer)");
for (const [truth, row] of Object.entries(totals.confusion)) console.log(`  ${truth.padEnd(8)} ${JSON.stringify(row)}`);

// Features against SemEval-2014 laptop aspect terms (the evaluation's matching: lower case, singular),
// for each half of the file (even and odd sentences), so a change tuned on one half shows on the other.
const semeval = new URL("../../shared/data/aspects-semeval14-laptops/Laptop_Train_v2.xml", import.meta.url).pathname;
if (existsSync(semeval)) {
  const halves = [{ matched: 0, predicted: 0, gold: 0 }, { matched: 0, predicted: 0, gold: 0 }];
  readSemEvalSentences(semeval, {}).forEach((sentence, index) => {
    const { features } = analyzeReview({ text: sentence.text, category: "electronics" });
    const counts = featureCounts(sentence.aspects.map((aspect) => aspect.term), features.items);
    for (const key of ["matched", "predicted", "gold"]) halves[index % 2][key] += counts[key];
  });
  const percent = (value) => (100 * value).toFixed(1);
  const figures = ({ matched, predicted, gold }) => {
    const precision = matched / predicted;
    const recall = matched / gold;
    return `precision ${percent(precision)}, recall ${percent(recall)}, F1 ${percent((2 * precision * recall) / (precision + recall))}`;
  };
  console.log(`features against ${semeval.split("/").pop()} aspect terms (category electronics): even sentences ${figures(halves[0])}; odd ${figures(halves[1])}`);
}

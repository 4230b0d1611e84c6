import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { analyzeReview } from "../labels/analyzer.js";
import type { Review } from "../sources/reviews.js";
import { countWords } from "../words.js";
import { analysisExample, reviewExampleLines, reviewExamples } from "./augment.js";

// Texts whose escaping or word counts could differ between one pass over the whole and a pass per piece.
const TEXTS = [
  "Great sound, the battery lasts all day.",
  'He said "do not buy" and I did \\ anyway.\nSecond line\n\nnew paragraph\ttab',
  "Emoji 👍🏽 and café, naïve, 日本語, a line\u2028separator and a \u0007bell \u001b[31m",
  "ends with a backslash \\",
  '"quoted from the start"',
  "half an emoji \ud83d then text, and a lone low \udc4d",
  "x",
];

const review = (text: string, index: number, extra: Partial<Review> = {}): Review => ({
  id: index % 2 ? `review-${index}` : `id "${index}" \\ ü`,
  text,
  source: { file: "reviews.jsonl", line: index + 1, unit: "line" },
  ...extra,
});

describe("reviewExampleLines", () => {
  it("are JSON.stringify of reviewExamples and analysisExample, with their words, for every prompt shape", () => {
    const shapes: Array<Partial<Review>> = [{}, { category: "Electronics" }, { product_title: 'Sport "Pro" Watch', category: "Watches" }, { product_title: "Mug", title: 'Nice "mug"\n' }];
    let checked = 0;
    for (const [index, text] of TEXTS.entries()) {
      for (const shape of shapes) {
        const item = review(text, index, shape);
        const labels = analyzeReview(item);
        for (const heldOutPhrasings of [false, true]) {
          const examples = [...reviewExamples(item, labels, { heldOutPhrasings }), analysisExample(item, labels)];
          const lines = reviewExampleLines(item, labels, { heldOutPhrasings });
          assert.deepEqual(lines.map((line) => line.json), examples.map((example) => JSON.stringify(example)));
          assert.deepEqual(lines.map((line) => line.task), examples.map((example) => example.task));
          assert.deepEqual(lines.map((line) => line.words), examples.map((example) => example.messages.reduce((sum, message) => sum + countWords(message.content), 0)));
          checked += lines.length;
        }
      }
    }
    assert.equal(checked, TEXTS.length * 4 * 2 * 7);
  });
});

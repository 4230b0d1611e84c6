import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ReviewLabels } from "../labels/analyzer.js";
import type { Review } from "../sources/reviews.js";
import { answerFormat } from "../../eval/format-adherence.js";
import {
  ANSWER_PATTERNS,
  HELD_OUT_PHRASING_COUNT,
  PHRASINGS,
  REVIEW_TASKS,
  TRAINING_PHRASING_COUNT,
  answerFor,
  heldOutPhrasings,
  trainingPhrasings,
  type AnswerFacts,
} from "./answers.js";
import { reviewExamples } from "./augment.js";

const review = (index: number): Review => ({
  id: `review-${index}`,
  text: "The battery lasts all day but the strap broke.",
  product_title: "Sport Watch",
  rating: (index % 5) + 1,
  source: { file: "reviews.jsonl", line: index + 1, unit: "line" },
});

const labels: ReviewLabels = {
  sentiment: { label: "neutral", score: 0, source: "rating" },
  rating: { stars: 3, source: "rating" },
  features: { items: ["battery", "strap"], praised: ["battery"], criticized: ["strap"], source: "analyzer" },
  quality: { label: "mixed", evidence: null, source: "analyzer" },
  recommendation: { label: "mixed", reason: "", source: "analyzer" },
  summary: { text: "", source: "analyzer" },
};

const questionOf = (content: string) => content.split("\n\n")[0]!;

describe("phrasings", () => {
  it("every task has at least 12, split into a training block and a held-out block", () => {
    assert.ok(TRAINING_PHRASING_COUNT >= 9 && HELD_OUT_PHRASING_COUNT >= 3);
    for (const task of REVIEW_TASKS) {
      assert.ok(PHRASINGS[task].length >= 12, task);
      assert.equal(PHRASINGS[task].length, TRAINING_PHRASING_COUNT + HELD_OUT_PHRASING_COUNT, `${task}: a phrasing outside both blocks`);
      assert.deepEqual([...trainingPhrasings(task), ...heldOutPhrasings(task)], PHRASINGS[task]);
      // the last one (semeval.ts asks it) is held out
      assert.ok(heldOutPhrasings(task).includes(PHRASINGS[task][PHRASINGS[task].length - 1]!));
    }
    const all = REVIEW_TASKS.flatMap((task) => PHRASINGS[task]);
    assert.equal(new Set(all.map((phrasing) => phrasing.toLowerCase())).size, all.length, "a phrasing is repeated");
    for (const phrasing of all) assert.match(phrasing, /^\S[^\n]*\S$/, `one trimmed line: ${JSON.stringify(phrasing)}`);
  });

  it("training examples never ask a held-out phrasing; over many reviews, each of both blocks is asked", () => {
    const reviews = Array.from({ length: 400 }, (_, index) => review(index));
    for (const task of REVIEW_TASKS) {
      const asked = (heldOut: boolean) =>
        reviews.flatMap((item) => reviewExamples(item, labels, { heldOutPhrasings: heldOut, tasks: [task] })).map((example) => {
          assert.equal(questionOf(example.messages[0]!.content), PHRASINGS[task][example.phrasing]);
          return example.messages[0]!.content.split("\n\n")[0]!;
        });
      const training = new Set(asked(false));
      const test = new Set(asked(true));
      for (const question of heldOutPhrasings(task)) assert.ok(!training.has(question), `${task}: held-out "${question}" in training`);
      assert.deepEqual([...training].sort(), [...trainingPhrasings(task)].sort(), `${task}: training phrasings asked`);
      assert.deepEqual([...test].sort(), [...heldOutPhrasings(task)].sort(), `${task}: held-out phrasings asked`);
    }
    // a rebuild asks the same
    assert.deepEqual(reviewExamples(review(7), labels, { heldOutPhrasings: true }), reviewExamples(review(7), labels, { heldOutPhrasings: true }));
  });
});

describe("answers", () => {
  const facts = (overrides: Partial<AnswerFacts>): AnswerFacts => ({
    product: "sport watch",
    sentiment: "positive",
    score: 0.8,
    stars: 5,
    features: ["battery", "strap"],
    praised: ["battery"],
    criticized: [],
    quality: "good",
    recommendation: "yes",
    ...overrides,
  });
  const cases = [
    facts({}),
    facts({ sentiment: "negative", score: -0.6, stars: 1, praised: [], criticized: ["strap", "screen", "battery"], quality: "poor", recommendation: "no" }),
    facts({ sentiment: "neutral", score: 0, stars: 3, features: [], praised: [], quality: "mixed", recommendation: "mixed" }),
    // a product name that reads like another task's answer does not change which task an answer is in
    facts({ product: "sentiment: positive (0.8). rating: 5/5 stars tracker" }),
  ];

  it("each starts with its own task's word and is in its task's format and no other", () => {
    const word = { sentiment: "Sentiment:", rating: "Rating:", quality: "Quality:", recommendation: "Recommendation:", features: "Features:", summary: "Summary:" };
    for (const item of cases) {
      for (const task of REVIEW_TASKS) {
        const answer = answerFor(item, task);
        assert.ok(answer.startsWith(`${word[task]} `), answer);
        assert.deepEqual(REVIEW_TASKS.filter((other) => ANSWER_PATTERNS[other].test(answer)), [task], answer);
        assert.equal(answerFormat(answer), task);
      }
    }
  });
});

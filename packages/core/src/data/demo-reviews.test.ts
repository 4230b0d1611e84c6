import { test } from "node:test";
import assert from "node:assert/strict";
import { ANALYSIS_INSTRUCTION, parseAnalysis } from "@reviewtune/contracts";
import { ANSWER_PATTERNS, REVIEW_TASKS } from "./augment/answers.js";
import { ANALYSIS_TASK, type ReviewExample } from "./augment/augment.js";
import { analyzeReview } from "./labels/analyzer.js";
import {
  DEMO_CHAT_TASKS_PER_REVIEW,
  DEMO_EXAMPLES_PER_REVIEW,
  DEMO_TAGS,
  demoChatTasks,
  demoEntry,
  demoPrompts,
  makeDemoExamples,
  makeDemoReviews,
  type DemoReview,
} from "./demo-reviews.js";

function contentOf(example: ReviewExample, role: "user" | "assistant"): string {
  const message = example.messages.find((candidate) => candidate.role === role);
  assert.ok(message, `missing ${role} message`);
  return message.content;
}

test("same count and seed give identical output, different seeds differ", () => {
  assert.deepEqual(makeDemoReviews(50, 7), makeDemoReviews(50, 7));
  assert.deepEqual(makeDemoExamples(20, 7), makeDemoExamples(20, 7));
  assert.notDeepEqual(makeDemoReviews(50, 7), makeDemoReviews(50, 8));
  assert.deepEqual(demoPrompts(7), demoPrompts(7));
  assert.notDeepEqual(demoPrompts(7), demoPrompts(8));
});

test("each review yields its chat tasks and one analysis example, grouped by review id", () => {
  const reviews = makeDemoReviews(40, 3);
  assert.equal(reviews.length, 40);
  assert.equal(reviews[0]?.id, "demo-0001");
  assert.equal(reviews[39]?.id, "demo-0040");
  const examples = makeDemoExamples(40, 3);
  assert.equal(examples.length, 40 * DEMO_EXAMPLES_PER_REVIEW);
  for (const review of reviews) {
    const own = examples.filter((example) => example.group === review.id);
    assert.deepEqual(own.map((example) => example.task), [...demoChatTasks(review.id), ANALYSIS_TASK]);
    for (const example of own) assert.deepEqual(example.messages.map((message) => message.role), ["user", "assistant"]);
  }
  // Every chat task, the rating task included, gets a share of the reviews.
  const perTask = new Map(REVIEW_TASKS.map((task) => [task, examples.filter((example) => example.task === task).length]));
  for (const [task, count] of perTask) assert.ok(count >= 12, `${task}: ${count} of 40 reviews`);
  assert.equal(new Set(demoChatTasks("demo-0001")).size, DEMO_CHAT_TASKS_PER_REVIEW);
  assert.deepEqual(makeDemoReviews(0, 1), []);
  assert.throws(() => makeDemoReviews(-1, 1), RangeError);
});

test("sentiment, rating and score agree", () => {
  const allowedScores: Record<number, number[]> = { 5: [0.8, 0.9], 4: [0.5, 0.6], 3: [-0.1, 0, 0.1], 2: [-0.5, -0.6], 1: [-0.8, -0.9] };
  for (const review of makeDemoReviews(300, 11)) {
    const expected = review.rating >= 4 ? "positive" : review.rating === 3 ? "neutral" : "negative";
    assert.equal(review.sentiment, expected);
    assert.ok(allowedScores[review.rating]?.includes(review.score), `score ${review.score} for rating ${review.rating}`);
  }
});

test("sentiment mix is roughly 40/30/30 and every star count is present over 500 reviews", () => {
  const reviews = makeDemoReviews(500, 2024);
  for (const label of ["positive", "neutral", "negative"] as const) {
    const share = reviews.filter((review) => review.sentiment === label).length / reviews.length;
    assert.ok(share >= 0.25 && share <= 0.45, `${label} share ${share}`);
  }
  for (const stars of [1, 2, 3, 4, 5]) assert.ok(reviews.filter((review) => review.rating === stars).length >= 50, `${stars} stars`);
});

test("texts are filled in and mention every listed feature, verbatim even in reviews with typos", () => {
  const reviews = makeDemoReviews(500, 99);
  for (const review of reviews) {
    assert.ok(review.features.length <= 3);
    assert.ok(review.features.length >= 1 || review.tags.includes("ambiguous"));
    assert.equal(new Set(review.features).size, review.features.length);
    for (const feature of review.features) assert.ok(review.text.includes(feature), `${feature} missing in: ${review.text}`);
    for (const praised of review.praised) assert.ok(review.features.includes(praised));
    for (const criticized of review.criticized) assert.ok(review.features.includes(criticized));
    assert.doesNotMatch(`${review.title} ${review.text}`, /[{}]|undefined|NaN/);
    const sentenceCount = review.text.split(/(?<=\.)\s+/).length;
    if (!review.tags.includes("long")) assert.ok(sentenceCount >= 1 && sentenceCount <= 6, `${sentenceCount} sentences: ${review.text}`);
  }
  assert.ok(new Set(reviews.map((review) => review.text)).size > 450, "texts should rarely repeat");
  assert.ok(new Set(reviews.map((review) => review.product)).size >= 16);
});

test("chat answers follow the documented format and the analysis states the generator's labels", () => {
  const reviews = new Map(makeDemoReviews(200, 5).map((review) => [review.id, review]));
  for (const example of makeDemoExamples(200, 5)) {
    const review = reviews.get(example.group)!;
    const answer = contentOf(example, "assistant");
    if (example.task === ANALYSIS_TASK) {
      assert.ok(contentOf(example, "user").startsWith(ANALYSIS_INSTRUCTION));
      const parsed = parseAnalysis(answer);
      assert.ok(parsed.ok, `analysis off schema: ${answer}`);
      assert.equal(parsed.analysis.stars, review.rating);
      assert.equal(parsed.analysis.sentiment, review.sentiment);
      assert.equal(parsed.analysis.score, review.score);
      assert.equal(parsed.analysis.recommendation, { positive: "yes", neutral: "mixed", negative: "no" }[review.sentiment]);
      assert.deepEqual(parsed.analysis.aspects.map((aspect) => aspect.term), review.features);
      for (const aspect of parsed.analysis.aspects) {
        const expected = review.praised.includes(aspect.term) ? "positive" : review.criticized.includes(aspect.term) ? "negative" : "neutral";
        assert.equal(aspect.polarity, expected, `${aspect.term} in ${review.id}`);
      }
      continue;
    }
    const match = ANSWER_PATTERNS[example.task as keyof typeof ANSWER_PATTERNS].exec(answer);
    assert.ok(match, `${example.task} answer off format: ${answer}`);
    if (example.task === "sentiment") assert.deepEqual([match[1], Number(match[2]), Number(match[3])], [review.sentiment, review.score, review.rating]);
    if (example.task === "rating" || example.task === "summary") assert.equal(Number(match[1]), review.rating);
    if (example.task === "features") assert.equal(answer, `Features: ${review.features.length > 0 ? review.features.join(", ") : "none"}.`);
  }
});

test("demo entries carry generator labels and the review's tags", () => {
  const [demo] = makeDemoReviews(1, 1) as [DemoReview];
  const { review, labels } = demoEntry(demo);
  assert.equal(review.product_title, demo.product);
  assert.equal(review.rating, demo.rating);
  for (const label of [labels.sentiment, labels.rating, labels.features, labels.quality, labels.recommendation, labels.summary]) assert.equal(label.source, "generator");
  const user = contentOf(makeDemoExamples(1, 1)[0]!, "user");
  assert.ok(user.includes(`\n\nProduct: ${demo.product} (${demo.category})\n`));
  assert.ok(user.endsWith(`Review: "${demo.title}. ${demo.text}"`));
});

test("demo prompts are distinct, cover different tasks, and differ from training prompts", () => {
  assert.equal(demoPrompts(42).length, 3);
  const prompts = demoPrompts(42, 5);
  assert.equal(new Set(prompts).size, prompts.length);
  assert.equal(new Set(prompts.map((prompt) => prompt.split("\n\n")[0])).size, 5, "five prompts should cover five tasks");
  const trainingUsers = new Set(makeDemoExamples(500, 42).map((example) => contentOf(example, "user")));
  for (const prompt of prompts) {
    assert.ok(!trainingUsers.has(prompt));
    assert.ok(prompt.includes("\n\nProduct: ") && prompt.includes('Review: "'));
  }
});

test("500 reviews hold every edge-case tag, each with the labels its construction promises", () => {
  const reviews = makeDemoReviews(500, 42);
  const words = (review: { text: string }) => review.text.split(/\s+/).length;
  assert.ok(reviews.some((review) => words(review) < 40));
  assert.ok(reviews.filter((review) => words(review) > 100).length >= 20, "long reviews");
  const tagged = (tag: (typeof DEMO_TAGS)[number]) => reviews.filter((review) => review.tags.includes(tag));
  for (const tag of DEMO_TAGS) assert.ok(tagged(tag).length >= 10, `${tag}: ${tagged(tag).length}`);
  assert.ok(tagged("sarcasm").every((review) => review.sentiment === "negative"));
  assert.ok(tagged("understatement").every((review) => review.sentiment !== "neutral"));
  assert.ok(tagged("mixed").every((review) => review.praised.length === 1 && review.criticized.length === 1));
  // Mixed reviews span the scale: the stars, not the presence of a complaint, decide.
  assert.equal(new Set(tagged("mixed").map((review) => review.sentiment)).size, 3);
  assert.ok(tagged("ambiguous").every((review) => review.sentiment === "neutral" && review.features.length === 0));
  assert.ok(tagged("negation").every((review) => /\b(not|no|never|nothing|nobody|nor)\b|n'?t\b/i.test(review.text)));
  for (const review of tagged("long")) assert.ok(words(review) > 100, review.text);
  // Plain reviews are a minority of each class, so the set is not mostly easy.
  const plain = reviews.filter((review) => review.tags.every((tag) => tag === "long")).length;
  assert.ok(plain / reviews.length < 0.5, `${plain} plain reviews of ${reviews.length}`);
});

test("the rule-based analyzer, reading the text without the stars, is not an oracle on the demo reviews", () => {
  // Measured on 10 seeds x 200 reviews when written: sentiment accuracy 0.51 (0.44-0.56), within one
  // star 0.80 (the earlier template reviews: 0.63 and 0.92). A person reads every one of them right.
  const reviews = makeDemoReviews(200, 42);
  const predictions = reviews.map((review) => analyzeReview({ text: review.text, title: review.title, category: review.category }));
  const accuracy = predictions.filter((labels, index) => labels.sentiment.label === reviews[index]!.sentiment).length / reviews.length;
  const withinOne = predictions.filter((labels, index) => Math.abs(labels.rating.stars - reviews[index]!.rating) <= 1).length / reviews.length;
  console.log(`analyzer on 200 demo reviews (seed 42): sentiment accuracy ${accuracy.toFixed(3)}, within one star ${withinOne.toFixed(3)}`);
  assert.ok(accuracy >= 0.35 && accuracy <= 0.7, `sentiment accuracy ${accuracy}`);
  assert.ok(withinOne <= 0.9, `within one star ${withinOne}`);
  // Sarcasm is the case a lexicon gets backwards.
  const sarcastic = reviews.map((review, index) => ({ review, labels: predictions[index]! })).filter(({ review }) => review.tags.includes("sarcasm"));
  assert.ok(sarcastic.filter(({ labels }) => labels.sentiment.label === "negative").length <= sarcastic.length / 2);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { ANSWER_PATTERNS, heldOutPhrasings, trainingPhrasings } from "./augment/answers.js";
import {
  DEMO_TASKS,
  demoPrompts,
  makeDemoExamples,
  makeDemoReviews,
  reviewToExamples,
  type DemoTask,
  type InstructionExample,
} from "./demo-reviews.js";

const ANSWER_FORMATS = ANSWER_PATTERNS;

function contentOf(example: InstructionExample, role: "user" | "assistant"): string {
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

test("reviews have sequential ids and each yields one example per task", () => {
  const reviews = makeDemoReviews(40, 3);
  assert.equal(reviews.length, 40);
  assert.equal(reviews[0]?.id, "demo-0001");
  assert.equal(reviews[39]?.id, "demo-0040");
  assert.equal(makeDemoExamples(40, 3).length, 40 * DEMO_TASKS.length);
  for (const review of reviews) {
    const examples = reviewToExamples(review);
    assert.deepEqual(examples.map((example) => example.task), [...DEMO_TASKS]);
    for (const example of examples) {
      assert.equal(example.group, review.id);
      assert.deepEqual(example.messages.map((message) => message.role), ["user", "assistant"]);
    }
  }
  assert.deepEqual(makeDemoReviews(0, 1), []);
  assert.throws(() => makeDemoReviews(-1, 1), RangeError);
});

test("sentiment, rating and score agree", () => {
  const allowedScores: Record<number, number[]> = { 5: [0.8, 0.9], 4: [0.5, 0.6], 3: [-0.1, 0, 0.1], 2: [-0.5, -0.6], 1: [-0.8, -0.9] };
  for (const review of makeDemoReviews(300, 11)) {
    const expected = review.rating >= 4 ? "positive" : review.rating === 3 ? "neutral" : "negative";
    assert.equal(review.sentiment, expected);
    assert.ok(allowedScores[review.rating]?.includes(review.score), `score ${review.score} for rating ${review.rating}`);
    assert.ok(review.score >= -1 && review.score <= 1);
  }
});

test("sentiment mix is roughly 40/30/30 over 500 reviews", () => {
  const reviews = makeDemoReviews(500, 2024);
  for (const label of ["positive", "neutral", "negative"] as const) {
    const share = reviews.filter((review) => review.sentiment === label).length / reviews.length;
    assert.ok(share >= 0.25 && share <= 0.45, `${label} share ${share}`);
  }
});

test("texts are filled in, 2-4 sentences, and mention every listed feature", () => {
  const reviews = makeDemoReviews(500, 99);
  for (const review of reviews) {
    assert.ok(review.features.length <= 3);
    assert.ok(review.features.length >= 1 || review.tags.includes("ambiguous"));
    assert.equal(new Set(review.features).size, review.features.length);
    for (const feature of review.features) assert.ok(review.text.includes(feature), `${feature} missing in: ${review.text}`);
    const sentenceCount = review.text.split(/(?<=\.)\s+/).length;
    if (review.tags.length === 0 || review.tags.join() === "mixed") {
      assert.ok(sentenceCount >= 2 && sentenceCount <= 4, `${sentenceCount} sentences: ${review.text}`);
    }
    for (const example of reviewToExamples(review)) {
      for (const message of example.messages) {
        assert.doesNotMatch(message.content, /[{}]|undefined|NaN/);
      }
    }
  }
  assert.ok(new Set(reviews.map((review) => review.text)).size > 450, "texts should rarely repeat");
  assert.ok(new Set(reviews.map((review) => review.product)).size >= 16);
});

test("assistant answers follow the documented format and agree with the review", () => {
  for (const review of makeDemoReviews(200, 5)) {
    for (const example of reviewToExamples(review)) {
      const answer = contentOf(example, "assistant");
      const match = ANSWER_FORMATS[example.task].exec(answer);
      assert.ok(match, `${example.task} answer off format: ${answer}`);
      if (example.task === "sentiment") {
        assert.equal(match[1], review.sentiment);
        assert.equal(Number(match[2]), review.score);
        assert.equal(Number(match[3]), review.rating);
      }
      if (example.task === "features") assert.equal(answer, `Features: ${review.features.length > 0 ? review.features.join(", ") : "none"}.`);
      if (example.task === "summary") assert.equal(Number(match[1]), review.rating);
      if (example.task === "recommendation") {
        assert.equal(match[1], { positive: "yes", neutral: "mixed", negative: "no" }[review.sentiment]);
        assert.equal(Number(match[4]), review.rating);
      }
      if (example.task === "quality") {
        assert.equal(match[1], { positive: "good", neutral: "mixed", negative: "poor" }[review.sentiment]);
      }
    }
  }
});

test("user messages carry the question, product line and quoted review", () => {
  const [review] = makeDemoReviews(1, 1);
  assert.ok(review);
  const user = contentOf(reviewToExamples(review)[0] as InstructionExample, "user");
  assert.ok(user.includes(`\n\nProduct: ${review.product} (${review.category})\n`));
  assert.ok(user.endsWith(`Review: "${review.title}. ${review.text}"`));
});

test("held-out phrasings never appear among training phrasings", () => {
  const questionOf = (example: InstructionExample): string => contentOf(example, "user").split("\n\n")[0] ?? "";
  const reviews = makeDemoReviews(200, 8);
  for (const task of DEMO_TASKS) {
    const training = new Set(reviews.flatMap((review) => reviewToExamples(review)).filter((example) => example.task === task).map(questionOf));
    const heldOut = new Set(
      reviews.flatMap((review) => reviewToExamples(review, { heldOutPhrasings: true })).filter((example) => example.task === task).map(questionOf),
    );
    // 200 reviews draw every phrasing of both blocks: none is left untrained or untested
    assert.deepEqual([...training].sort(), [...trainingPhrasings(task)].sort(), `${task} training phrasings`);
    assert.deepEqual([...heldOut].sort(), [...heldOutPhrasings(task)].sort(), `${task} held-out phrasings`);
    for (const question of heldOut) assert.ok(!training.has(question), `${task} held-out phrasing leaks: ${question}`);
  }
});

test("demo prompts are distinct, cover different tasks, and differ from training prompts", () => {
  assert.equal(demoPrompts(42).length, 3);
  const prompts = demoPrompts(42, 5);
  assert.equal(prompts.length, 5);
  assert.equal(new Set(prompts).size, prompts.length);
  assert.equal(new Set(prompts.map((prompt) => prompt.split("\n\n")[0])).size, 5, "five prompts should cover five tasks");
  const trainingUsers = new Set(makeDemoExamples(500, 42).map((example) => contentOf(example, "user")));
  const trainingReviews = new Set(makeDemoReviews(500, 42).map((review) => review.text));
  for (const prompt of prompts) {
    assert.ok(!trainingUsers.has(prompt));
    assert.ok(prompt.includes("\n\nProduct: ") && prompt.includes('Review: "'));
    assert.doesNotMatch(prompt, /[{}]|undefined/);
  }
  const demoTexts = prompts.map((prompt) => /Review: ".+?\. (.+)"$/s.exec(prompt)?.[1] ?? "");
  assert.ok(demoTexts.some((text) => !trainingReviews.has(text)), "demo reviews should come from a separate stream");
});

test("500 reviews hold short, medium and long texts and tagged edge cases with known labels", () => {
  const reviews = makeDemoReviews(500, 42);
  const words = (review: { text: string }) => review.text.split(/\s+/).length;
  assert.ok(reviews.some((review) => words(review) < 40));
  assert.ok(reviews.some((review) => words(review) >= 40 && words(review) <= 150));
  assert.ok(reviews.filter((review) => words(review) > 150).length >= 20, "long reviews");
  const tagged = (tag: string) => reviews.filter((review) => review.tags.includes(tag as never));
  assert.ok(tagged("sarcasm").length >= 5 && tagged("sarcasm").every((review) => review.sentiment === "negative"));
  assert.ok(tagged("mixed").length >= 10 && tagged("mixed").every((review) => review.praised.length === 1 && review.criticized.length === 1));
  assert.ok(tagged("ambiguous").length >= 5 && tagged("ambiguous").every((review) => review.sentiment === "neutral" && review.features.length === 0));
  for (const review of tagged("long")) assert.ok(words(review) > 100, review.text);
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { answerFormat, followsTaskFormat, formatAdherence } from "./format-adherence.js";

const SENTIMENT = "Sentiment: positive (0.8). Rating: 5/5 stars. The reviewer praises the fit.";
const RECOMMENDATION = "Recommendation: yes. Positive sentiment (0.8) and 5/5 stars; the reviewer praises the fit.";
const RATING = "Rating: 2/5 stars. The reviewer criticizes the strap.";

describe("format adherence", () => {
  it("an answer follows the asked task's format, tolerating trailing whitespace only", () => {
    assert.equal(followsTaskFormat("sentiment", SENTIMENT), true);
    assert.equal(followsTaskFormat("sentiment", `${SENTIMENT}\n `), true);
    assert.equal(followsTaskFormat("sentiment", ` ${SENTIMENT}`), false);
    assert.equal(followsTaskFormat("features", "Features: battery life, screen."), true);
    assert.equal(followsTaskFormat("features", "Features: battery life, screen"), false);
    assert.equal(followsTaskFormat("sentiment", "The sentiment is positive."), false);
  });

  it("an answer in another task's format does not follow the asked one, even where it carries the asked label", () => {
    // carries a sentiment, but it is the recommendation answer
    assert.equal(followsTaskFormat("sentiment", RECOMMENDATION), false);
    assert.equal(answerFormat(RECOMMENDATION), "recommendation");
    // carries "Rating: 5/5 stars", but second: the sentiment answer
    assert.equal(followsTaskFormat("rating", SENTIMENT), false);
    assert.equal(answerFormat(SENTIMENT), "sentiment");
    assert.equal(answerFormat("Yes, buy it."), undefined);
  });

  it("shares overall and per task, with answers in another task's format counted apart", () => {
    const report = formatAdherence([
      { task: "sentiment", answer: SENTIMENT },
      { task: "sentiment", answer: `${SENTIMENT}\n` },
      { task: "sentiment", answer: RECOMMENDATION },
      { task: "sentiment", answer: "The sentiment is positive." },
      { task: "rating", answer: RATING },
      { task: "rating", answer: SENTIMENT },
      { task: "features", answer: " Features: battery." },
    ]);
    assert.deepEqual(report.overall, { adherent: 3, other_task: 2, total: 7, share: 3 / 7 });
    assert.deepEqual(report.by_task, {
      sentiment: { adherent: 2, other_task: 1, total: 4, share: 0.5 },
      rating: { adherent: 1, other_task: 1, total: 2, share: 0.5 },
      features: { adherent: 0, other_task: 0, total: 1, share: 0 },
    });
    assert.deepEqual(formatAdherence([]), { overall: { adherent: 0, other_task: 0, total: 0, share: null }, by_task: {} });
  });
});

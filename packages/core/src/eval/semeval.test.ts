// SemEval-2014 aspect XML as feature gold, on a fixture written here (never the real data set).
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { DataError } from "../errors.js";
import { featureMetrics } from "./metrics.js";
import { parseAnswer } from "./parse-answer.js";
import { readSemEvalAspects } from "./semeval.js";

const work = mkdtempSync(join(tmpdir(), "reviewtune-semeval-"));
const FIXTURE = `<?xml version="1.0" encoding="UTF-8"?>
<sentences>
  <sentence id="7"><text>The keyboard is great but the batteries die fast.</text>
    <aspectTerms><aspectTerm term="keyboard" polarity="positive" from="4" to="12"/><aspectTerm term="batteries" polarity="negative" from="30" to="39"/></aspectTerms>
  </sentence>
  <sentence id="8"><text>I bought it last year.</text></sentence>
  <sentence id="9"><text>Screen &amp; speakers: fine.</text><aspectTerms><aspectTerm term="Screen" polarity="neutral" from="0" to="6"/></aspectTerms></sentence>
</sentences>`;

describe("SemEval aspect gold", () => {
  it("one features item per sentence, gold = the aspect terms (none for a sentence without them)", () => {
    const file = join(work, "aspects.xml");
    writeFileSync(file, FIXTURE);
    const items = readSemEvalAspects(file);
    assert.deepEqual(items.map((item) => item.id), ["semeval-7:features", "semeval-8:features", "semeval-9:features"]);
    assert.deepEqual(items.map((item) => item.gold.features), [["keyboard", "batteries"], [], ["Screen"]]);
    assert.match(items[2]!.messages[0]!.content, /Review: "Screen & speakers: fine."/);
    assert.equal(readSemEvalAspects(file, { limit: 1 }).length, 1);
    // scored with the normalization: "battery life" (synonym of battery) vs gold "batteries" -> "battery" -> "battery life"
    const answers = ["Features: keyboard, battery life.", "Features: none.", "Features: screens, price."];
    const metrics = featureMetrics(items.map((item) => item.gold.features!), answers.map((answer) => parseAnswer("features", answer).features ?? null));
    assert.equal(metrics.precision.value, 3 / 4);
    assert.equal(metrics.recall.value, 3 / 3);
  });

  it("a malformed file is named with its line", () => {
    const file = join(work, "broken.xml");
    writeFileSync(file, "<sentences>\n<sentence id='1'><text>x</text>\n</sentences>");
    assert.throws(() => readSemEvalAspects(file), (error: unknown) => error instanceof DataError && /broken\.xml:\d+: not well-formed XML/.test(error.message));
  });
});

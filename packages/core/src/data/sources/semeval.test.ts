// SemEval-2014 aspect XML as an input of `data build`, on fixtures written here (never the real data set).
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseAnalysis } from "@reviewtune/contracts";
import { buildDataset } from "../builder/build-dataset.js";
import { SPLIT_FILES } from "../dataset-folder.js";
import { DataError } from "../../errors.js";
import { mergeTeacherLabels } from "../labels/teacher.js";
import { goldAspects, readSemEvalSentences, withGoldAspects } from "./semeval.js";
import { analyzeReview } from "../labels/analyzer.js";

const work = mkdtempSync(join(tmpdir(), "reviewtune-semeval-build-"));
const readJsonl = (file: string) =>
  readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));

// Sentences with two aspects, none, one `conflict`, and a term the features answer cannot state.
const FIXTURE = `<?xml version="1.0" encoding="UTF-8"?>
<sentences>
    <sentence id="10">
        <text>The keyboard is great but the batteries die fast.</text>
        <aspectTerms>
            <aspectTerm term="keyboard" polarity="positive" from="4" to="12"/>
            <aspectTerm term="batteries" polarity="negative" from="30" to="39"/>
        </aspectTerms>
    </sentence>
    <sentence id="11">
        <text>I bought it last year for my daughter.</text>
    </sentence>
    <sentence id="12">
        <text>The Screen is bright, but glossy &amp; reflective.</text>
        <aspectTerms>
            <aspectTerm term="Screen" polarity="conflict" from="4" to="10"/>
        </aspectTerms>
    </sentence>
    <sentence id="13"><text>It runs Windows 7 smoothly.</text><aspectTerms><aspectTerm term="Windows 7" polarity="positive" from="8" to="17"/></aspectTerms></sentence>
</sentences>
`;

function write(name: string, text: string): string {
  const file = join(work, name);
  writeFileSync(file, text);
  return file;
}

type StoredReview = { id: string; split: string; category?: string; rating?: number; labels: { aspects?: Array<{ term: string; polarity: string }>; features: { items: string[]; praised: string[]; criticized: string[]; source: string }; sentiment: { source: string } } };
type Example = { group: string; task: string; messages: Array<{ role: string; content: string }> };

describe("SemEval aspect XML", () => {
  it("reads sentences with their aspect terms, polarities and lines", () => {
    const sentences = readSemEvalSentences(write("Laptop_read.xml", FIXTURE));
    assert.deepEqual(
      sentences.map((sentence) => [sentence.id, sentence.line, sentence.aspects.map((aspect) => [aspect.term, aspect.polarity, aspect.line])]),
      [
        ["10", 3, [["keyboard", "positive", 6], ["batteries", "negative", 7]]],
        ["11", 10, []],
        ["12", 13, [["Screen", "conflict", 16]]],
        ["13", 19, [["Windows 7", "positive", 19]]],
      ],
    );
    assert.equal(sentences[2]!.text, "The Screen is bright, but glossy & reflective.");
    // conflict -> neutral; lower case as the analyzer's features are
    assert.deepEqual(goldAspects("f", sentences[2]!), [{ term: "screen", polarity: "neutral" }]);
  });

  it("names the file and line of a malformed or mislabeled file, and the fix", () => {
    const broken = write("broken.xml", '<sentences>\n<sentence id="1"><text>x</text>\n<sentence id="2"><text>y</text></sentence>\n</sentences>\n');
    assert.throws(() => readSemEvalSentences(broken), (error: unknown) => error instanceof DataError && /broken\.xml:\d+: not well-formed XML/.test(error.message) && error.line !== undefined);
    const polarity = write("polarity.xml", FIXTURE.replace('polarity="negative"', 'polarity="bad"'));
    assert.throws(() => readSemEvalSentences(polarity), (error: unknown) => {
      assert.ok(error instanceof DataError);
      assert.match(error.message, /polarity\.xml:7: aspect term "batteries" has polarity "bad"/);
      assert.match(error.hint ?? "", /positive, negative, neutral, conflict/);
      return true;
    });
    const other = write("other.xml", "<reviews><review>fine</review></reviews>\n");
    assert.throws(() => readSemEvalSentences(other), /other\.xml has no <sentences><sentence> elements/);
  });

  it("data build: each sentence a review whose aspects and features are the gold, in the analysis and features examples", async () => {
    const out = join(work, "xml-dataset");
    const card = await buildDataset({ inputs: [write("Laptop_fixture.xml", FIXTURE)], out, validation: 0, test: 0 });
    const reviews = readJsonl(join(out, "reviews.jsonl")) as StoredReview[];
    assert.deepEqual(reviews.map((review) => review.id), ["semeval-Laptop_fixture-10", "semeval-Laptop_fixture-11", "semeval-Laptop_fixture-12", "semeval-Laptop_fixture-13"]);
    assert.ok(reviews.every((review) => review.rating === undefined && review.category === "laptop" && review.labels.sentiment.source === "analyzer"));
    assert.deepEqual(
      reviews.map((review) => review.labels.aspects),
      [
        [{ term: "keyboard", polarity: "positive" }, { term: "batteries", polarity: "negative" }],
        [], // no aspectTerms: a real negative example, kept
        [{ term: "screen", polarity: "neutral" }],
        [{ term: "windows 7", polarity: "positive" }],
      ],
    );
    assert.deepEqual(reviews[0]!.labels.features, { items: ["keyboard", "batteries"], praised: ["keyboard"], criticized: ["batteries"], source: "annotation" });
    assert.deepEqual(reviews[3]!.labels.features.items, []); // "windows 7" does not fit the features answer; it stays in aspects
    const examples = readJsonl(join(out, SPLIT_FILES.train)) as Example[];
    for (const review of reviews) {
      const analysis = examples.find((example) => example.group === review.id && example.task === "analysis")!;
      const parsed = parseAnalysis(analysis.messages[1]!.content);
      assert.ok(parsed.ok);
      assert.deepEqual(parsed.analysis.aspects, review.labels.aspects);
    }
    const features = examples.filter((example) => example.task === "features").map((example) => example.messages[1]!.content);
    assert.deepEqual(features, ["Features: keyboard, batteries.", "Features: none.", "Features: screen.", "Features: none."]);
    assert.deepEqual(card.label_sources.features, { annotation: 4 });
    assert.deepEqual(card.label_sources.aspects, { annotation: 4 });
    assert.match(card.inputs[0]!, /Laptop_fixture\.xml \(semeval-aspects\)/);
  });

  it("data build: a term without polarity stops the build at its line; repeated sentences are rejected", async () => {
    const unlabeled = write("unlabeled.xml", FIXTURE.replace(' polarity="conflict"', ""));
    const failed = join(work, "failed");
    await assert.rejects(buildDataset({ inputs: [unlabeled], out: failed }), (error: unknown) => {
      assert.ok(error instanceof DataError);
      assert.match(error.message, /unlabeled\.xml:16: aspect term "Screen" of sentence 12 has no polarity/);
      assert.match(error.hint ?? "", /gold polarities/);
      return true;
    });
    assert.ok(!existsSync(failed));
    const repeated = FIXTURE.replace(
      "</sentences>",
      '    <sentence id="10"><text>Another text, same id.</text></sentence>\n    <sentence id="20"><text>the keyboard is great but the batteries  die fast.</text></sentence>\n</sentences>',
    );
    const card = await buildDataset({ inputs: [write("repeated.xml", repeated)], out: join(work, "repeated"), validation: 0, test: 0 });
    assert.equal(card.reviews, 4);
    assert.deepEqual(
      readJsonl(join(work, "repeated", "rejected.jsonl")).map((rejection: { line: number; reason: string; detail: string }) => [rejection.line, rejection.reason]),
      [[20, "duplicate"], [21, "duplicate"]],
    );
  });

  it("data build: CSV and XML inputs together, split leak-free by review id, both in the card", async () => {
    const csv = write(
      "reviews.csv",
      ["review_id,text,rating,category", ...Array.from({ length: 40 }, (_, index) => `r${index},"The blender number ${index} is ${index % 2 ? "great" : "awful"}.",${index % 2 ? 5 : 1},Kitchen`)].join("\n") + "\n",
    );
    const sentences = Array.from({ length: 40 }, (_, index) => `    <sentence id="${100 + index}"><text>Laptop ${index}: the display is ${index % 3 ? "sharp" : "dim"}.</text><aspectTerms><aspectTerm term="display" polarity="${index % 3 ? "positive" : "negative"}" from="0" to="1"/></aspectTerms></sentence>`);
    const xml = write("Laptop_mixed.xml", FIXTURE.replace("</sentences>", `${sentences.join("\n")}\n</sentences>`));
    const out = join(work, "mixed");
    const card = await buildDataset({ inputs: [csv, xml], out, seed: 5 });
    assert.equal(card.reviews, 84);
    assert.deepEqual(card.by_category, { Kitchen: 40, laptop: 44 });
    assert.deepEqual(card.label_sources.sentiment, { rating: 40, analyzer: 44 });
    assert.deepEqual(card.label_sources.features, { analyzer: 40, annotation: 44 });
    assert.deepEqual(card.label_sources.aspects, { annotation: 44 });
    assert.deepEqual(card.inputs.map((input) => input.replace(/^.*\//, "")), ["reviews.csv (reviews)", "Laptop_mixed.xml (semeval-aspects)"]);
    const groups = Object.fromEntries(Object.entries(SPLIT_FILES).map(([split, file]) => [split, new Set((readJsonl(join(out, file)) as Example[]).map((example) => example.group))]));
    for (const group of groups.test!) assert.ok(!groups.train!.has(group) && !groups.validation!.has(group), `${group} leaks`);
    for (const group of groups.validation!) assert.ok(!groups.train!.has(group), `${group} leaks`);
    assert.ok([...groups.test!].some((group) => group.startsWith("semeval-")) && [...groups.test!].some((group) => group.startsWith("r")), "both inputs reach the test split");
    const stored = readJsonl(join(out, "reviews.jsonl")) as StoredReview[];
    assert.ok(stored.filter((review) => review.id.startsWith("r")).every((review) => review.labels.aspects === undefined));
  });

  it("a teacher's features do not replace annotated ones", () => {
    const labels = withGoldAspects(analyzeReview({ text: "The keyboard is great." }), [{ term: "keyboard", polarity: "positive" }]);
    const merged = mergeTeacherLabels(labels, { features: ["typing"], quality: "good" });
    assert.deepEqual(merged.features, labels.features);
    assert.deepEqual(merged.aspects, labels.aspects);
    assert.equal(merged.quality.source, "teacher");
  });
});

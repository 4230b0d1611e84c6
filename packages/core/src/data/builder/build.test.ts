import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { DATASET_FORMAT, parseAnalysis } from "@reviewtune/contracts";
import { ANSWER_PATTERNS, PHRASINGS, REVIEW_TASKS, TRAINING_PHRASING_COUNT } from "../augment/answers.js";
import { ANALYSIS_TASK, type ExampleTask } from "../augment/augment.js";
import { StratifiedSplitter, lengthBucket, type SplitName } from "./splits.js";
import { buildDataset } from "./build-dataset.js";
import { rejectionLine } from "./card.js";
import { SPLIT_FILES, datasetPath, readDatasetCard, readExampleRows, readRejections, readReviewRows } from "../dataset-folder.js";

const folder = mkdtempSync(join(tmpdir(), "reviewtune-build-"));
const readJsonl = (file: string) => readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((line) => JSON.parse(line));

// A seeded generator of varied reviews, so the property test covers many shapes.
function* reviews(count: number, seed: number) {
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const categories = ["Beauty", "Electronics", "Home", "Sports"];
  const opinions = ["The strap is very flimsy", "Great sound and the battery lasts", "The fit is perfect", "It arrived late", "The lid is cheap"];
  for (let index = 0; index < count; index++) {
    const words = Array.from({ length: 1 + Math.floor(random() * 6) }, () => opinions[Math.floor(random() * opinions.length)]).join(". ");
    yield { review_id: `r${index}`, text: `${words}. Item ${index}.`, rating: 1 + Math.floor(random() * 5), category: categories[Math.floor(random() * categories.length)] };
  }
}

describe("StratifiedSplitter", () => {
  it("never puts one review in two splits and splits every stratum in the asked shares", () => {
    for (const seed of [1, 2, 3]) {
      const splitter = new StratifiedSplitter({ validation: 0.1, test: 0.2, seed });
      const seen = new Map<string, SplitName>();
      const perStratum = new Map<string, Record<SplitName, number>>();
      let state = seed;
      for (let index = 0; index < 3000; index++) {
        state = (state * 48271) % 2147483647;
        const group = `review-${state % 1200}`; // groups repeat: a review's examples come together or again
        const stratum = `s${state % 7}`;
        const split = seen.get(group) ?? splitter.assign(group, stratum);
        if (!seen.has(group)) {
          seen.set(group, split);
          const counts = perStratum.get(stratum) ?? { train: 0, validation: 0, test: 0 };
          counts[split] += 1;
          perStratum.set(stratum, counts);
        }
        assert.equal(seen.get(group), split);
      }
      for (const [stratum, counts] of perStratum) {
        const total = counts.train + counts.validation + counts.test;
        assert.ok(Math.abs(counts.test - 0.2 * total) <= 1, `${stratum}: ${JSON.stringify(counts)}`);
        assert.ok(Math.abs(counts.validation - 0.1 * total) <= 1, `${stratum}: ${JSON.stringify(counts)}`);
      }
    }
  });

  it("gives small strata's shares overall: 100 reviews in 60 strata still get about 10 for validation and 10 for test", () => {
    // Each stratum rounds its 0.1 of one or two reviews to none; what they round away is made up across strata.
    for (const seed of [1, 2, 3]) {
      const splitter = new StratifiedSplitter({ validation: 0.1, test: 0.1, seed });
      const counts: Record<SplitName, number> = { train: 0, validation: 0, test: 0 };
      const perStratum = new Map<string, Record<SplitName, number>>();
      for (let index = 0; index < 100; index++) {
        const stratum = `s${(index * 37) % 60}`;
        const split = splitter.assign(`review-${index}`, stratum);
        counts[split] += 1;
        const mine = perStratum.get(stratum) ?? { train: 0, validation: 0, test: 0 };
        mine[split] += 1;
        perStratum.set(stratum, mine);
      }
      assert.ok(Math.abs(counts.validation - 10) <= 1 && Math.abs(counts.test - 10) <= 1, `seed ${seed}: ${JSON.stringify(counts)}`);
      // No stratum gets a review past its share of either split.
      for (const [stratum, mine] of perStratum) {
        const total = mine.train + mine.validation + mine.test;
        assert.ok(mine.validation < 0.1 * total + 1 && mine.test < 0.1 * total + 1, `${stratum}: ${JSON.stringify(mine)}`);
      }
    }
  });

  it("sends a held-out category to test only", () => {
    const splitter = new StratifiedSplitter({ validation: 0.1, test: 0.1, seed: 1, heldOutCategory: "home" });
    assert.ok(Array.from({ length: 50 }, (_, index) => splitter.assign(`g${index}`, "x", "Home")).every((split) => split === "test"));
  });

  it("names a negative or missing fraction, and fractions that leave no training rows", () => {
    assert.throws(() => new StratifiedSplitter({ validation: -0.1, test: 0.1, seed: 1 }), { message: "--validation -0.1 is not a fraction of the reviews: it must be 0 or more" });
    assert.throws(() => new StratifiedSplitter({ validation: 0.1, test: Number.NaN, seed: 1 }), { message: "--test NaN is not a fraction of the reviews: it must be 0 or more" });
    assert.throws(() => new StratifiedSplitter({ validation: 0.5, test: 0.5, seed: 1 }), { message: "--validation 0.5 and --test 0.5 leave no reviews for training" });
  });

  it("buckets lengths at 40 and 150 words", () => {
    assert.deepEqual([39, 40, 150, 151].map(lengthBucket), ["short", "medium", "medium", "long"]);
  });
});

describe("buildDataset", () => {
  const input = join(folder, "reviews.csv");
  const rows = [...reviews(300, 7)];
  const csv = ["review_id,text,rating,category", ...rows.map((row) => `${row.review_id},"${row.text}",${row.rating},${row.category}`)];
  csv.splice(5, 0, 'bad1,"",4,Home', 'bad2,"Too many stars",9,Home', `dup,"${rows[0]!.text}",${rows[0]!.rating},Beauty`);
  writeFileSync(input, `${csv.join("\n")}\n`);

  it("writes leak-free splits, reviews with labels, rejections and a card", async () => {
    const out = join(folder, "dataset");
    const card = await buildDataset({ inputs: [input], out, seed: 3 });
    assert.deepEqual(readdirSync(out).sort(), ["card.json", "card.md", "rejected.jsonl", "reviews.jsonl", "test.jsonl", "train.jsonl", "val.jsonl"]);
    const splits = Object.fromEntries(Object.entries(SPLIT_FILES).map(([split, file]) => [split, readJsonl(join(out, file))]));
    const groups = Object.fromEntries(Object.entries(splits).map(([split, examples]) => [split, new Set(examples.map((example: { group: string }) => example.group))]));
    for (const group of groups.test!) assert.ok(!groups.train!.has(group) && !groups.validation!.has(group), `${group} leaks`);
    for (const group of groups.validation!) assert.ok(!groups.train!.has(group), `${group} leaks`);
    assert.equal(card.reviews, 300);
    assert.equal(card.examples, 300 * (REVIEW_TASKS.length + 1)); // the chat tasks and one analysis per review
    assert.deepEqual(
      readJsonl(join(out, "rejected.jsonl")).map((rejection: { line: number; reason: string }) => [rejection.line, rejection.reason]),
      [[6, "empty_text"], [7, "rating_out_of_range"], [8, "duplicate"]],
    );
    assert.equal(card.rejected.duplicate, 1);
    // every answer follows the contract the evaluator parses; test uses only held-out phrasings
    for (const [split, examples] of Object.entries(splits)) {
      for (const example of examples as Array<{ task: ExampleTask; phrasing: number; messages: Array<{ content: string }> }>) {
        if (example.task === ANALYSIS_TASK) {
          assert.ok(parseAnalysis(example.messages[1]!.content).ok, `${split} analysis of ${example.messages[1]!.content}`);
          continue;
        }
        assert.match(example.messages[1]!.content, ANSWER_PATTERNS[example.task]);
        assert.equal(example.phrasing >= TRAINING_PHRASING_COUNT, split === "test", `${split} ${example.task} phrasing ${example.phrasing}`);
        assert.ok(example.messages[0]!.content.startsWith(`${PHRASINGS[example.task][example.phrasing]}\n\n`), `${split} ${example.task} asks its phrasing`);
      }
    }
    const stored = readJsonl(join(out, "reviews.jsonl"));
    assert.equal(stored.length, 300);
    assert.equal(stored[0].labels.sentiment.source, "rating");
    assert.match(readFileSync(join(out, "card.md"), "utf8"), new RegExp(`300 reviews and ${300 * (REVIEW_TASKS.length + 1)} instruction examples`));
    assert.equal(card.label_sources.sentiment!.rating, 300);
  });

  it("writes records the contracts' schemas read back whole: the card, every split row, review and rejection", async () => {
    const out = join(folder, "dataset");
    const card = readDatasetCard(out);
    assert.deepEqual(card, JSON.parse(readFileSync(join(out, "card.json"), "utf8")), "the card's schema keeps every field written");
    for (const file of Object.values(SPLIT_FILES)) {
      const rows = readExampleRows(join(out, file), { allowEmpty: true });
      assert.deepEqual(rows, readJsonl(join(out, file)), `${file}: every field written is in the schema`);
    }
    assert.deepEqual(readReviewRows(datasetPath(out, "reviews")), readJsonl(datasetPath(out, "reviews")));
    assert.deepEqual(readRejections(datasetPath(out, "rejected")), readJsonl(datasetPath(out, "rejected")));
    // A card another version wrote is refused by its format, naming the file.
    const other = join(folder, "other-version");
    mkdirSync(other);
    writeFileSync(join(other, "card.json"), JSON.stringify({ ...card, format: "reviewtune-dataset/2" }));
    assert.throws(() => readDatasetCard(other), { message: `${join(other, "card.json")} is a "reviewtune-dataset/2" record; this version of reviewtune reads "${DATASET_FORMAT}"` });
  });

  it("refuses to overwrite without --force and leaves nothing half-made on failure", async () => {
    const out = join(folder, "dataset");
    await assert.rejects(buildDataset({ inputs: [input], out }), /already exists/);
    const broken = join(folder, "broken.jsonl");
    writeFileSync(broken, '{"text": "fine", "rating": 5}\n{"text": \n');
    const failed = join(folder, "failed");
    await assert.rejects(buildDataset({ inputs: [broken], out: failed }), /broken\.jsonl:2: not valid JSON/);
    assert.ok(!existsSync(failed));
    assert.deepEqual(readdirSync(folder).filter((name) => name.includes("partial")), []);
    const skipped = await buildDataset({ inputs: [broken], out: failed, skipBadRows: true });
    assert.equal(skipped.rejected.malformed, 1);
  });

  it("counts rejections in the Rows line's units: a broken quote's lines are rows, one entry in rejected.jsonl", async () => {
    const csv = join(folder, "spans.csv");
    const good = Array.from({ length: 12 }, (_, index) => `"Review ${index}: the strap is great and the battery lasts all day.",5`);
    writeFileSync(csv, ["text,rating", ...good, `"Review dup.",4`, `"Review dup.",4`, `"a quote that never closes,3`, "goes on,2", `"Review end.",5`].join("\n") + "\n");
    const out = join(folder, "spans");
    const card = await buildDataset({ inputs: [csv], out, skipBadRows: true });
    assert.deepEqual([card.rows.rejected.malformed, card.rejected.malformed, card.rows.rejected.duplicate], [3, 1, 1]);
    assert.equal(rejectionLine(card), "4 row(s) (duplicate 1, malformed 3); 2 entries in rejected.jsonl");
    const markdown = readFileSync(join(out, "card.md"), "utf8");
    assert.match(markdown, /Rows: 17 read = 13 accepted \+ 4 rejected \(duplicate 1, malformed 3\)\./);
    assert.match(markdown, /\| malformed \| 3 \| 0 \| 1 \|/);
    assert.match(markdown, /### Rating\n\n\| value \| count \| share \|\n\|---\|---\|---\|\n\| 4 \| 1 \| 7\.7% \|\n\| 5 \| 12 /, "stars in their own order");
    // Examples dropped for a token budget are not rows: their own column and words.
    const budget = { ...card, rejected: { ...card.rejected, too_long: 5 }, tokens: { max_tokens: 256 } } as typeof card;
    assert.equal(rejectionLine(budget), "4 row(s) (duplicate 1, malformed 3) + 5 example(s) too long for 256 tokens (their reviews' other examples kept); 7 entries in rejected.jsonl");
  });
});

describe("buildDataset on label threads", () => {
  it("writes the same bytes with 0, 1 and 2 label threads: every file, and the card but its time", async () => {
    // Reviews in batches across threads with rejections and ready-made examples between them: the order must hold.
    const reviewsFile = join(folder, "threads.jsonl");
    const lines = [...reviews(700, 11)].map((row) => JSON.stringify(row));
    lines.splice(3, 0, '{"review_id": "x1", "text": "", "rating": 4}', "{not json");
    lines.splice(400, 0, JSON.stringify({ review_id: "x2", text: "Too many stars", rating: 9 }), lines[10]!);
    writeFileSync(reviewsFile, `${lines.join("\n")}\n`);
    const qaFile = join(folder, "threads-qa.json");
    writeFileSync(qaFile, JSON.stringify(Array.from({ length: 30 }, (_, index) => ({ question: `Does size ${index} fit?`, answer_keywords: ["fit"] }))));
    const built = new Map<number, Map<string, string>>();
    const mainThreadShare = new Map<number, number>();
    for (const workers of [0, 1, 2]) {
      const out = join(folder, `threads-${workers}`);
      await buildDataset({ inputs: [reviewsFile, qaFile], out, skipBadRows: true, workers, onLabelThreads: (stats) => mainThreadShare.set(workers, stats.mainThreadShare) });
      const files = new Map(readdirSync(out).map((name) => [name, readFileSync(join(out, name), "utf8")]));
      files.set("card.json", files.get("card.json")!.replace(/"created": "[^"]+"/, "\"created\": \"\""));
      files.set("card.md", files.get("card.md")!.replace(/built \S+ from/, ""));
      built.set(workers, files);
    }
    const one = built.get(0)!;
    assert.equal(JSON.parse(one.get("card.json")!).reviews, 700);
    assert.equal(one.get("rejected.jsonl")!.trim().split("\n").length, 4);
    // One thread holds 4 of the 6 batches while it loads wink's model (~0.3 s); the main thread
    // labels the rest meanwhile, so its batches and the thread's are interleaved in the output.
    assert.ok(mainThreadShare.get(1)! > 0, `the main thread labeled none of the reviews beside one label thread`);
    for (const workers of [1, 2]) {
      const other = built.get(workers)!;
      assert.deepEqual([...other.keys()].sort(), [...one.keys()].sort());
      for (const [name, text] of one) assert.ok(other.get(name) === text, `${name} differs between 0 and ${workers} label threads`);
    }
  });
});

describe("buildDataset's files", () => {
  it("holds every line whole: lines longer than a write buffer, characters of 2-4 bytes, a buffer's edge", async () => {
    // Lines go into 256 KB buffers; a line that may not fit one (3 bytes a UTF-16 unit) is written alone.
    const accents = "Café crème, naïve façade: the lid is déjà cassé 😊 ✓. ";
    const rows = [
      { review_id: "long", text: `${accents.repeat(3_000)}The end.`, rating: 2 },
      // 90,000 characters of 3 bytes each: more bytes than a buffer holds, fewer characters.
      { review_id: "wide", text: `${"音质很好，电池耐用。".repeat(9_000)}Good.`, rating: 5 },
      ...[...reviews(1_500, 5)].map((row, index) => (index % 7 === 0 ? { ...row, text: `${row.text} ${accents.trim()}` } : row)),
      { review_id: "long-2", text: `${"Plain words that go on and on. ".repeat(4_000)}Done.`, rating: 4 },
    ];
    const input = join(folder, "long-lines.jsonl");
    writeFileSync(input, rows.map((row) => JSON.stringify(row)).join("\n") + "\n");
    const out = join(folder, "long-lines");
    const card = await buildDataset({ inputs: [input], out, maxChars: 200_000, workers: 0 });
    assert.equal(card.reviews, rows.length);
    const written = readReviewRows(datasetPath(out, "reviews"));
    assert.deepEqual(written.map((review) => [review.id, review.text]), rows.map((row) => [row.review_id, row.text]));
    const examples = Object.values(SPLIT_FILES).flatMap((file) => readJsonl(join(out, file)));
    assert.equal(examples.length, rows.length * 7);
    assert.ok(examples.some((example) => example.group === "long" && example.messages[0].content.includes(rows[0]!.text)));
  });
});

describe("buildDataset across files", () => {
  it("rejects a review repeated in a later input file as a duplicate of the first file's line", async () => {
    const first = join(folder, "part-1.jsonl");
    const second = join(folder, "part-2.jsonl");
    writeFileSync(first, [{ text: "The strap is flimsy.", rating: 2 }, { text: "Great sound.", rating: 5 }].map((row) => JSON.stringify(row)).join("\n") + "\n");
    writeFileSync(second, [{ text: "Fits well.", rating: 4 }, { text: "Great  sound.", rating: 5 }].map((row) => JSON.stringify(row)).join("\n") + "\n");
    const out = join(folder, "parts-dataset");
    const card = await buildDataset({ inputs: [first, second], out });
    assert.equal(card.reviews, 3);
    assert.deepEqual(readRejections(datasetPath(out, "rejected")).map((rejection) => [rejection.file, rejection.line, rejection.reason, rejection.detail]), [
      [second, 2, "duplicate", `same text as ${first}:2`],
    ]);
  });
});

describe("buildDataset on non-review inputs", () => {
  const examplesOf = (out: string) =>
    Object.values(SPLIT_FILES).flatMap((file) => readJsonl(join(out, file))) as Array<{ group: string; task: string; messages: Array<{ role: string; content: string }> }>;

  it("QA keywords (JSON array): the answer is the keywords joined; empty ones are rejected", async () => {
    const input = join(folder, "qa.json");
    const items = Array.from({ length: 20 }, (_, index) => ({ question: `What does product ${index} do well?`, answer_keywords: ["battery", "fit"] }));
    writeFileSync(input, JSON.stringify([...items, { question: "Empty?", answer_keywords: [] }]));
    const out = join(folder, "qa-dataset");
    const card = await buildDataset({ inputs: [input], out });
    const examples = examplesOf(out);
    assert.equal(examples.length, 20);
    assert.deepEqual(examples[0]!.messages.map((message) => message.role), ["user", "assistant"]);
    assert.ok(examples.every((example) => example.task === "qa" && example.messages[1]!.content === "battery, fit"));
    assert.deepEqual(readJsonl(join(out, "rejected.jsonl")).map((rejection: { line: number; detail: string }) => [rejection.line, rejection.detail]), [[21, "answer_keywords is empty"]]);
    assert.match(card.inputs[0]!, /\(qa\)$/);
  });

  it("a shop catalogue's CSV (ProductName, Description): entities decoded, duplicates and near-empty descriptions rejected with reasons", async () => {
    const catalogue = join(folder, "catalogue.csv");
    writeFileSync(catalogue, [
      "ProductID,ProductName,ProductBrand,Gender,Description",
      '1,Roadster Men Navy Blue Cotton Shirt,Roadster,Men,"Navy blue solid casual shirt, has a spread collar &amp; long sleeves"',
      '2,Roadster Men Navy Blue Cotton Shirt,Roadster,Men,"Navy blue solid casual shirt, has a spread collar &amp; long sleeves"',
      '3,Roadster Men Navy Blue Cotton Shirt,Roadster,Men,"A different text for the same title"',
      "4,HRX Women Black Tights,HRX,Women,Black tights",
      "5,Mango Women Red Dress,Mango,Women,",
      '6,Puma Unisex Grey Backpack,Puma,Unisex,"Grey backpack with one main compartment and a padded strap"',
    ].join("\n") + "\n");
    const out = join(folder, "catalogue-dataset");
    const card = await buildDataset({ inputs: [catalogue], out, validation: 0, test: 0 });
    const examples = examplesOf(out);
    assert.deepEqual(examples.map((example) => example.messages[0]!.content.split("Title: ")[1]), ["Roadster Men Navy Blue Cotton Shirt", "Puma Unisex Grey Backpack"]);
    assert.equal(examples[0]!.messages[1]!.content, "Navy blue solid casual shirt, has a spread collar & long sleeves");
    assert.deepEqual(readRejections(datasetPath(out, "rejected")).map((rejection) => [rejection.line, rejection.reason, rejection.detail]), [
      [3, "duplicate", `same prompt and answer as ${catalogue}:2`],
      [4, "duplicate", `same prompt as ${catalogue}:2, another answer (the first is kept)`],
      [5, "too_short", "description has 2 word(s), fewer than 3"],
      [6, "empty_text", "description is empty"],
    ]);
    assert.match(card.inputs[0]!, /\(title_description\)$/);
    assert.deepEqual(card.rows, { read: 6, accepted: 2, rejected: { ...card.rows.rejected, duplicate: 2, too_short: 1, empty_text: 1 }, unaccounted: 0 });
  });

  it("customer questions with answers (McAuley's Amazon QA): the answer as written, --max-answer-words, the question types as slices", async () => {
    const qa = join(folder, "qa_appliances.jsonl");
    const row = (asin: string, question: string, answer: string, questionType: string, answerType?: string) =>
      JSON.stringify({ questionType, asin, answerTime: "Jun 27, 2014", unixTime: 1403852400, question, ...(answerType ? { answerType } : {}), answer });
    writeFileSync(qa, [
      row("B001", "Does it fit a 30 inch range?", "Yes, it fits.", "yes/no", "Y"),
      row("B002", "Does it fit a 30 inch range?", "No, it is 36 inches wide.", "yes/no", "N"),
      row("B001", "Does it fit a 30 inch range?", "Yes, it fits.", "yes/no", "Y"),
      row("B003", "How loud is it?", "It is quiet enough to talk over while it runs on the highest setting for a long time", "open-ended"),
      row("B003", "What is the warranty?", "One year, parts and labor.", "open-ended"),
    ].join("\n") + "\n");
    const out = join(folder, "qa-answers-dataset");
    await buildDataset({ inputs: [qa], out, maxAnswerWords: 10, validation: 0, test: 0 });
    const rows = readExampleRows(join(out, SPLIT_FILES.train));
    assert.deepEqual(rows.map((example) => [example.task, example.messages[1]!.content, example.slices]), [
      ["qa", "Yes, it fits.", { question_type: "yes/no", answer_type: "Y" }],
      ["qa", "No, it is 36 inches wide.", { question_type: "yes/no", answer_type: "N" }],
      ["qa", "One year, parts and labor.", { question_type: "open-ended" }],
    ]);
    assert.deepEqual(readRejections(datasetPath(out, "rejected")).map((rejection) => [rejection.line, rejection.reason, rejection.detail]), [
      [3, "duplicate", `same prompt and answer as ${qa}:1`],
      [4, "too_long", "answer has 18 words, over --max-answer-words 10"],
    ]);
  });

  it("title/description pairs, Alpaca rows and chat rows become examples as they are", async () => {
    const titles = join(folder, "titles.jsonl");
    writeFileSync(titles, ['{"uid": "1", "title": "Steel water bottle", "content": "Keeps drinks cold for 24 hours."}', '{"uid": "2", "title": "Yoga mat", "content": ""}'].join("\n"));
    const alpaca = join(folder, "alpaca.json");
    writeFileSync(alpaca, JSON.stringify([{ instruction: "Summarize the review.", input: "Great mug, keeps coffee hot.", output: "A mug that keeps coffee hot." }]));
    const chat = join(folder, "chat.jsonl");
    writeFileSync(chat, JSON.stringify({ messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Is it good?" }, { role: "assistant", content: "Yes." }] }) + "\n");
    const out = join(folder, "mixed-dataset");
    const card = await buildDataset({ inputs: [titles, alpaca, chat], out });
    const examples = examplesOf(out);
    assert.deepEqual(examples.map((example) => example.task).sort(), ["description", "instruction", "instruction"]);
    const description = examples.find((example) => example.task === "description")!;
    assert.match(description.messages[0]!.content, /Title: Steel water bottle$/);
    assert.equal(description.messages[1]!.content, "Keeps drinks cold for 24 hours.");
    assert.equal(card.rejected.empty_text, 1);
    assert.deepEqual(card.inputs.map((input) => input.replace(/.*\(/, "(")), ["(title_description)", "(alpaca)", "(chat)"]);
    assert.deepEqual(readDatasetCard(out), card, "a card without reviews (no label sources) is a valid card");
  });
});

describe("buildDataset on Amazon Reviews 2023 files", () => {
  it("joins product titles and categories from the meta file by parent_asin", async () => {
    const reviewsFile = join(folder, "Amazon_Fashion.jsonl");
    const metaFile = join(folder, "meta_Amazon_Fashion.jsonl");
    const review = (index: number, asin: string) =>
      JSON.stringify({ rating: 5.0, title: `Nice ${index}`, text: `The fabric is soft and the fit is great, order ${index}.`, images: [], asin: `${asin}X`, parent_asin: asin, user_id: `U${index}`, timestamp: 1588687728923, helpful_vote: 0, verified_purchase: true });
    writeFileSync(reviewsFile, [review(1, "B01"), review(2, "B02")].join("\n") + "\n");
    writeFileSync(metaFile, [JSON.stringify({ main_category: "AMAZON FASHION", title: "Linen &amp; cotton shirt", parent_asin: "B01", categories: [] })].join("\n") + "\n");
    const out = join(folder, "amazon-dataset");
    await buildDataset({ inputs: [reviewsFile], meta: [metaFile], out, validation: 0, test: 0 });
    const stored = readJsonl(join(out, "reviews.jsonl")) as Array<{ product_id: string; product_title?: string; category?: string; rating: number; title: string }>;
    assert.deepEqual(
      stored.map((entry) => [entry.product_id, entry.product_title, entry.category, entry.rating, entry.title]),
      [
        ["B01", "Linen & cotton shirt", "AMAZON FASHION", 5, "Nice 1"],
        ["B02", undefined, undefined, 5, "Nice 2"],
      ],
    );
    const first = readJsonl(join(out, "train.jsonl"))[0] as { messages: Array<{ content: string }> };
    assert.match(first.messages[0]!.content, /\nProduct: Linen & cotton shirt \(AMAZON FASHION\)\nReview: "Nice 1\. The fabric/);
  });
});

// The studio's JSON API in process (fastify inject, no socket, no engine): datasets from a real
// build (rows, filters, the rendered training string, card, rejected rows), the estimate against
// SmolLM2-135M's published size, validation that names every field, run folders as the CLI leaves
// them (summary, next step, the SSE stream of a finished run), and errors that say what to do.
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  type RunRecord,
  DatasetRowsResponseSchema,
  DatasetSummarySchema,
  PresetSummarySchema,
  RejectedResponseSchema,
  RenderedRowSchema,
  RunPointSchema,
  RunSummarySchema,
  StudioErrorSchema,
  ReviewAnalysisSchema,
  StudioStatusSchema,
  TestReviewSchema,
  TrainEstimateSchema,
  TextEvalReportSchema,
  TEXT_EVAL_FORMAT,
  StudioTextReportResponseSchema,
  type StudioTextReportResponse,
  type DatasetRowsResponse,
  type DatasetSummary,
  type RejectedResponse,
  type RenderedRow,
  type RunSummary,
  type StudioError,
  type ReviewAnalysis,
  type StudioStatus,
  type TestReview,
  type TrainEstimate,
} from "@reviewtune/contracts";
import { runRecordFixture, trainResultFixture } from "@reviewtune/contracts/testing";
import type { z } from "zod";
import { TorchBackend, buildDataset, buildDemoDataset } from "@reviewtune/core";
import { createStudio, type Studio } from "./studio.js";

const work = mkdtempSync(join(tmpdir(), "reviewtune-studio-api-"));
const data = join(work, "data");
const runsDir = join(work, "runs");
const model = join(work, "smol-config");
let studio: Studio;

// SmolLM2-135M's config.json (the sizes only) and a ChatML template: 134,515,008 parameters.
const SMOL_CONFIG = { hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, vocab_size: 49152, tie_word_embeddings: true };
const CHATML = "{% for message in messages %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

function run(id: string, record: Partial<RunRecord>, metrics: Array<Record<string, unknown>>) {
  mkdirSync(join(runsDir, id), { recursive: true });
  const config = { model: { source: model }, method: "lora", task: "generate", data: { train: join(data, "demo") }, training: { epochs: 1, batch_size: 2, gradient_accumulation: 1 } } as const;
  const data20 = { source: join(data, "demo"), train_rows: 20, validation_rows: 0, hash: "x", train_file: join(data, "demo", "train.jsonl"), validation_file: null };
  writeFileSync(join(runsDir, id, "run.json"), JSON.stringify(runRecordFixture({ id, config, data: data20, ...record })));
  writeFileSync(join(runsDir, id, "metrics.jsonl"), metrics.map((line) => JSON.stringify(line)).join("\n") + "\n");
}

before(async () => {
  mkdirSync(model, { recursive: true });
  writeFileSync(join(model, "config.json"), JSON.stringify(SMOL_CONFIG));
  writeFileSync(join(model, "tokenizer_config.json"), JSON.stringify({ chat_template: CHATML, eos_token: "<|im_end|>" }));
  await buildDemoDataset({ out: join(data, "demo"), reviews: 20, seed: 3, test: 0.2 }); // held-out reviews for the compare routes
  const input = join(work, "reviews.jsonl");
  writeFileSync(input, ['{"text": "Great fit, love it.", "rating": 5}', '{"text": "", "rating": 3}', '{"text": "Great fit, love it.", "rating": 5}', '{"text": "The strap is flimsy.", "rating": 9}', '{"text": "Works fine.", "rating": 4}'].join("\n") + "\n");
  await buildDataset({ inputs: [input], out: join(data, "mine"), skipBadRows: true, validation: 0, test: 0 });
  const times = (step: number) => 1_700_000_000 + step;
  run("20260101-000000-done", { status: "completed", result: trainResultFixture({ global_step: 4, max_steps: 4, train_loss: 1.5, final_eval_loss: 1.7, tokens_per_second: 200, peak_memory_bytes: 2 ** 30, train_seconds: 12, adapter_dir: join(runsDir, "20260101-000000-done", "adapter") }) }, [
    ...[1, 2, 3, 4].map((step) => ({ kind: "train", step, loss: 2 - step / 8, tokens_per_second: 200, time: times(step) })),
    { kind: "final_eval", step: 4, eval_loss: 1.7, time: times(5) },
  ]);
  // Resumed once (its first attempt's result is still in run.json), then the studio went away.
  run("20260101-000001-orphan", { status: "running", attempts: 2, result: trainResultFixture({ global_step: 1, max_steps: 10, train_loss: 9, peak_memory_bytes: 1 }) }, [1, 2].map((step) => ({ kind: "train", step, loss: 2, time: times(step) })));
  run("20260101-000002-failed", { status: "failed", error: { message: "the engine stopped (exit 137)" }, result: null }, [1].map((step) => ({ kind: "train", step, loss: 2, time: times(step) })));
  mkdirSync(join(runsDir, "20260101-000002-failed", "studio"));
  writeFileSync(join(runsDir, "20260101-000002-failed", "studio", "train.log"), "$ reviewtune train ...\n  step 1/10 | loss 2.0\nerror: the engine stopped (exit 137)\nhint: the machine may be out of memory\n");
  // The backend is never started: these routes read folders only.
  studio = await createStudio({ runsDir, dataDirs: [data], model, references: null, backend: new TorchBackend({ model: { source: model, allow_pickle: false } }) });
});

after(async () => studio.close());

// Every JSON answer must match its contract: the response schema when the status is 2xx, the error schema otherwise.
const CONTRACTS: Array<[RegExp, z.ZodType]> = [
  [/^\/datasets$/, DatasetSummarySchema.array()],
  [/^\/datasets\/[^/]+\/rows/, DatasetRowsResponseSchema],
  [/^\/datasets\/[^/]+\/rendered/, RenderedRowSchema],
  [/^\/datasets\/[^/]+\/rejected/, RejectedResponseSchema],
  [/^\/estimate$/, TrainEstimateSchema],
  [/^\/presets$/, PresetSummarySchema.array()],
  [/^\/runs$/, RunSummarySchema.array()],
  [/^\/status$/, StudioStatusSchema],
  [/^\/runs\/[^/]+\/test-reviews$/, TestReviewSchema.array()],
  [/^\/analyze\/rule-based$/, ReviewAnalysisSchema],
  [/^\/runs\/[^/]+\/text-report$/, StudioTextReportResponseSchema],
];

const inject = async <T>(method: "GET" | "POST", url: string, payload?: Record<string, unknown>) => {
  const response = await studio.app.inject({ method, url: `/studio/api${url}`, ...(payload === undefined ? {} : { payload }) });
  const json = response.headers["content-type"]?.toString().startsWith("application/json") ? (response.json() as unknown) : null;
  if (json !== null) {
    const schema = response.statusCode >= 400 ? StudioErrorSchema : CONTRACTS.find(([pattern]) => pattern.test(url))?.[1];
    if (schema) schema.parse(json);
  }
  return { status: response.statusCode, body: json as T, headers: response.headers, text: response.body };
};

describe("studio API: datasets", () => {
  it("lists the dataset folders with their splits and rejected counts", async () => {
    const { status, body } = await inject<DatasetSummary[]>("GET", "/datasets");
    assert.equal(status, 200);
    assert.deepEqual(body.map((dataset) => dataset.name), ["demo", "mine"]);
    const demo = body[0]!;
    assert.equal(demo.reviews, 20);
    assert.equal((demo.splits.train ?? 0) + (demo.splits.val ?? 0) + (demo.splits.test ?? 0), demo.examples);
    assert.equal(body[1]!.rejected, 3);
  });

  it("pages and filters rows, with the review's category and sentiment, and the facets to filter by", async () => {
    const all = await inject<DatasetRowsResponse>("GET", "/datasets/demo/rows?limit=5");
    assert.equal(all.status, 200);
    assert.equal(all.body.rows.length, 5);
    assert.ok(all.body.facets.task.includes("sentiment") && all.body.facets.sentiment.length > 0);
    const sentiment = all.body.facets.sentiment[0]!;
    const filtered = await inject<DatasetRowsResponse>("GET", `/datasets/demo/rows?task=rating&sentiment=${sentiment}&limit=200`);
    assert.ok(filtered.body.total > 0 && filtered.body.total < all.body.total);
    assert.ok(filtered.body.rows.every((row) => row.task === "rating" && row.sentiment === sentiment && row.category));
    const second = await inject<DatasetRowsResponse>("GET", "/datasets/demo/rows?limit=5&offset=5");
    assert.equal(second.body.rows[0]!.index, 5);
    const bad = await inject<StudioError>("GET", "/datasets/demo/rows?split=everything&limit=0");
    assert.equal(bad.status, 400);
    assert.deepEqual(Object.keys(bad.body.error.fields ?? {}).sort(), ["limit", "split"]);
  });

  it("renders a row exactly as it is trained: the template's prompt, and the answer that carries the loss", async () => {
    const rows = await inject<DatasetRowsResponse>("GET", "/datasets/demo/rows?limit=1");
    const row = rows.body.rows[0]!;
    const { status, body } = await inject<RenderedRow>("GET", "/datasets/demo/rendered?index=0");
    assert.equal(status, 200);
    assert.equal(body.prompt, `<|im_start|>user\n${row.prompt}<|im_end|>\n<|im_start|>assistant\n`);
    assert.equal(body.completion, `${row.answer}<|im_end|>\n`);
    const missing = await inject<StudioError>("GET", "/datasets/demo/rendered?index=99999");
    assert.equal(missing.status, 404);
    assert.match(missing.body.error.hint ?? "", /pick a row/);
  });

  it("serves the card and the rejected rows with their reasons", async () => {
    const card = await inject<{ by_category: Record<string, number>; reviews: number }>("GET", "/datasets/demo/card");
    assert.equal(card.body.reviews, 20);
    assert.ok(Object.keys(card.body.by_category).length > 0);
    const rejected = await inject<RejectedResponse>("GET", "/datasets/mine/rejected");
    assert.equal(rejected.body.total, 3);
    assert.deepEqual(Object.keys(rejected.body.counts).sort(), ["duplicate", "empty_text", "rating_out_of_range"]);
    assert.ok(rejected.body.rows.every((row) => row.line > 0 && row.file.endsWith("reviews.jsonl")));
    const unknown = await inject<StudioError>("GET", "/datasets/nope/rows");
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.error.hint ?? "", /reviewtune data demo/);
  });

  it("lists a dataset whose card another version wrote with the reason, beside the others, and refuses its card by its format", async () => {
    const newer = join(data, "newer");
    cpSync(join(data, "mine"), newer, { recursive: true });
    const card = JSON.parse(readFileSync(join(newer, "card.json"), "utf8"));
    writeFileSync(join(newer, "card.json"), JSON.stringify({ ...card, format: "reviewtune-dataset/2" }));
    try {
      const { status, body } = await inject<DatasetSummary[]>("GET", "/datasets");
      assert.equal(status, 200);
      assert.deepEqual(body.map((dataset) => [dataset.name, dataset.problem === null]), [["demo", true], ["mine", true], ["newer", false]]);
      assert.match(body[2]!.problem ?? "", /is a "reviewtune-dataset\/2" record; this version of reviewtune reads "reviewtune-dataset\/1"/);
      assert.equal(body[2]!.reviews, null);
      const refused = await inject<StudioError>("GET", "/datasets/newer/card");
      assert.ok(refused.status >= 400);
      assert.match(refused.body.error.message, /reviewtune-dataset\/2/);
    } finally {
      rmSync(newer, { recursive: true, force: true });
    }
  });
});

describe("studio API: training", () => {
  const request = { preset: "demo", model, dataset: "demo", method: "lora", max_steps: 10, learning_rate: 0.001, batch_size: 4, max_length: 256, lora_r: 16 };

  it("estimates memory and time from config.json: SmolLM2-135M has 134,515,008 parameters, 4,884,480 in LoRA r=16 on all projections", async () => {
    const { status, body } = await inject<TrainEstimate>("POST", "/estimate", request);
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.parameters, 134_515_008);
    assert.equal(body.trainable, 4_884_480);
    assert.equal(body.steps, 10);
    assert.equal(body.memory_bytes.weights, 134_515_008 * 4);
    assert.equal(body.memory_bytes.total, body.memory_bytes.weights + body.memory_bytes.optimizer + body.memory_bytes.activations + body.memory_bytes.runtime);
    // A finished run of the same model and method gives the measured tokens/s.
    assert.equal(body.tokens_per_second, 200);
    assert.match(body.basis, /measured by run 20260101-000000-done/);
    const full = await inject<TrainEstimate>("POST", "/estimate", { ...request, method: "full" });
    assert.equal(full.body.trainable, 134_515_008);
    assert.ok(full.body.memory_bytes.optimizer > body.memory_bytes.optimizer * 10);
    // Recipe R4's table: samples x epochs x batch size from the same estimate (the dataset's own count among the samples).
    const table = body.table!;
    const trainRows = readFileSync(join(data, "demo", "train.jsonl"), "utf8").trim().split("\n").length;
    assert.deepEqual([...new Set(table.map((row) => row.samples))], [...new Set([trainRows, 1_000, 3_000, 10_000])].sort((a, b) => a - b));
    assert.deepEqual([...new Set(table.map((row) => row.epochs))], [1, 2, 3]);
    assert.deepEqual([...new Set(table.map((row) => row.batch_size))], [2, 4, 8]);
    const at = (samples: number, epochs: number, batch: number) => table.find((row) => row.samples === samples && row.epochs === epochs && row.batch_size === batch)!;
    assert.equal(at(3_000, 2, 4).steps, Math.ceil((2 * 3_000) / (4 * 2)), "the demo preset accumulates 2 batches a step");
    assert.ok(at(10_000, 3, 4).seconds > at(3_000, 3, 4).seconds && at(3_000, 3, 4).seconds > at(3_000, 1, 4).seconds);
  });

  it("rejects bad hyper-parameters naming each field, before anything starts", async () => {
    const { status, body } = await inject<StudioError>("POST", "/train", { ...request, learning_rate: -1, batch_size: 0, max_steps: undefined });
    assert.equal(status, 400);
    assert.deepEqual(Object.keys(body.error.fields ?? {}).sort(), ["batch_size", "learning_rate", "max_steps"]);
    assert.match(body.error.hint ?? "", /correct the fields/);
    const unknownKey = await inject<StudioError>("POST", "/estimate", { ...request, lora_alpha: 3 });
    assert.equal(unknownKey.status, 400);
  });

  it("only models the studio knows: not any folder or hub id a request names", async () => {
    for (const route of ["/estimate", "/train"]) {
      for (const other of ["/etc", "someone/huge-model-70b"]) {
        const { status, body } = await inject<StudioError>("POST", route, { ...request, model: other });
        assert.equal(status, 400, `${route} ${other}: ${JSON.stringify(body)}`);
        assert.equal(body.error.code, "model_not_allowed");
        assert.ok(body.error.message.includes(model), "the message lists the models it knows");
        assert.match(body.error.hint ?? "", /reviewtune studio --model/);
        assert.deepEqual(Object.keys(body.error.fields ?? {}), ["model"]);
      }
    }
    assert.equal((await inject<RunSummary[]>("GET", "/runs")).body.length, 3, "nothing started");
  });

  it("a training that cannot start answers with the CLI's error and hint, and leaves no run", async () => {
    // The studio's own --model is known even when its folder has gone since: the CLI says why it cannot train.
    const missing = join(work, "no-such-model");
    const own = studio.context.model;
    studio.context.model = missing;
    const { status, body } = await inject<StudioError>("POST", "/train", { ...request, model: missing }).finally(() => (studio.context.model = own));
    assert.equal(status, 400, JSON.stringify(body));
    assert.equal(body.error.code, "training_did_not_start");
    assert.match(body.error.message, /exit 3/);
    assert.match(body.error.message, /no-such-model/);
    assert.ok(body.error.hint);
    const runs = await inject<RunSummary[]>("GET", "/runs");
    assert.equal(runs.body.length, 3);
  });

  it("summarizes run folders: status, step, losses, the next step for a detached run", async () => {
    const { body } = await inject<RunSummary[]>("GET", "/runs");
    assert.deepEqual(body.map((entry) => entry.id), ["20260101-000002-failed", "20260101-000001-orphan", "20260101-000000-done"]);
    const [failed, orphan, done] = body as [RunSummary, RunSummary, RunSummary];
    assert.equal(failed.error, "the engine stopped (exit 137)");
    assert.match(failed.next ?? "", /then resume/);
    assert.deepEqual(failed.log_tail.slice(-2), ["error: the engine stopped (exit 137)", "hint: the machine may be out of memory"], "the log survives the process (read from studio/train.log)");
    assert.deepEqual(done.log_tail, []);
    assert.equal(done.status, "completed");
    assert.equal(done.step, 4);
    assert.equal(done.eval_loss, 1.7);
    assert.match(done.next ?? "", /reviewtune eval --run/);
    assert.equal(orphan.active, false);
    assert.equal(orphan.max_steps, 10);
    assert.equal(orphan.step, 2, "a running run's step comes from its metrics, not the previous attempt's result");
    assert.equal(orphan.train_loss, 2);
    assert.equal(orphan.peak_memory_bytes, null);
    assert.match(orphan.next ?? "", /resume it/);
    // run.json still says running, but no process beats for it (no heartbeat.json): shown as interrupted.
    assert.equal(orphan.status, "interrupted");
    assert.match(orphan.next ?? "", /interrupted: no training process is recorded for it; resume it .*reviewtune train --resume /);
    const stop = await inject<StudioError>("POST", `/runs/${orphan.id}/stop`);
    assert.equal(stop.status, 409);
    const resumeFinished = await inject<StudioError>("POST", `/runs/${done.id}/resume`);
    assert.equal(resumeFinished.status, 409);
    assert.match(resumeFinished.body.error.hint ?? "", /start a new run/);
    const traversal = await inject<StudioError>("GET", "/runs/..%2F..%2Fetc");
    assert.equal(traversal.status, 400);
  });

  it("streams a finished run's points over SSE, then its summary and `end`", async () => {
    const { status, headers, text } = await inject<never>("GET", "/runs/20260101-000000-done/events");
    assert.equal(status, 200);
    assert.match(String(headers["content-type"]), /text\/event-stream/);
    const events = text.trim().split("\n\n").map((block: string) => ({ event: block.match(/^event: (.+)$/m)![1], data: JSON.parse(block.match(/^data: (.+)$/m)![1]!) as { kind: string; step: number } }));
    for (const event of events) (event.event === "point" ? RunPointSchema : RunSummarySchema).parse(event.data);
    assert.deepEqual(events.map((event) => event.event), ["run", "point", "point", "point", "point", "point", "end"]);
    assert.deepEqual(events.filter((event) => event.event === "point").map((event) => [event.data.kind, event.data.step]), [["train", 1], ["train", 2], ["train", 3], ["train", 4], ["eval", 4]]);
  });
});

describe("studio API: a QA or description run's evaluation", () => {
  it("serves the text report and the answers side by side; the run is listed as evaluated, of kind text", async () => {
    const estimate = (value: number) => ({ value, low: value - 0.05, high: value + 0.05, n: 2 });
    const metrics = (rouge: number) => ({ n: 2, rouge_l: estimate(rouge), exact_match: estimate(0), token_f1: estimate(rouge), length_ratio: estimate(1), keyword_recall: null, yes_no_accuracy: null, embedding_similarity: estimate(0.7), unsupported_attributes: estimate(0.5) });
    const report = TextEvalReportSchema.parse({
      format: TEXT_EVAL_FORMAT,
      created: new Date().toISOString(),
      run: "20260101-000003-text",
      dataset: join(data, "descriptions"),
      tasks: ["description"],
      items: 2,
      headline: "rouge_l",
      systems: [{ name: "tuned", description: "tuned", metrics: metrics(0.4) }, { name: "base", description: "base", metrics: metrics(0.1) }],
      comparisons: [{ a: "tuned", b: "base", metric: "rouge_l", difference: estimate(0.3), verdict: "tuned beats base on ROUGE-L: +30.0 points" }],
    });
    run("20260101-000003-text", { status: "completed", result: trainResultFixture({ global_step: 2, max_steps: 2 }) }, [{ kind: "train", step: 1, loss: 2, time: 1 }]);
    mkdirSync(join(runsDir, "20260101-000003-text", "eval"));
    writeFileSync(join(runsDir, "20260101-000003-text", "eval", "text-report.json"), JSON.stringify(report));
    const answers = [0, 1].map((index) => ({ group: `g${index}`, task: "description", prompt: `Write a product description.\n\nTitle: Kestrel Women Teal Dress ${index}`, reference: `A teal dress ${index}.`, answers: { tuned: `A teal dress, ${index}.`, base: "A dress." } }));
    writeFileSync(join(runsDir, "20260101-000003-text", "eval", "text-answers.jsonl"), answers.map((row) => JSON.stringify(row)).join("\n") + "\n");
    const runs = await inject<RunSummary[]>("GET", "/runs");
    const listed = runs.body.find((entry) => entry.id === "20260101-000003-text")!;
    assert.equal(listed.has_eval, true);
    assert.equal(listed.eval_kind, "text");
    assert.equal(runs.body.find((entry) => entry.id === "20260101-000000-done")!.eval_kind, null);
    const { status, body } = await inject<StudioTextReportResponse>("GET", "/runs/20260101-000003-text/text-report");
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.report.systems[0]!.metrics.unsupported_attributes!.value, 0.5);
    assert.equal(body.total_answers, 2);
    assert.deepEqual(body.answers.map((row) => row.answers.tuned), ["A teal dress, 0.", "A teal dress, 1."]);
    const missing = await inject<StudioError>("GET", "/runs/20260101-000000-done/text-report");
    assert.equal(missing.status, 404);
    assert.match(missing.body.error.hint ?? "", /reviewtune eval --run/);
    rmSync(join(runsDir, "20260101-000003-text"), { recursive: true }); // the other tests count three runs
  });
});

describe("studio API: compare, structured analysis", () => {
  it("lists the run's held-out reviews with the gold their analysis is scored against", async () => {
    const { status, body } = await inject<TestReview[]>("GET", "/runs/20260101-000000-done/test-reviews");
    assert.equal(status, 200, JSON.stringify(body));
    const rows = readFileSync(join(data, "demo", "reviews.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line) as { id: string; split: string; rating: number; labels: { sentiment: { label: string } } });
    const held = rows.filter((row) => row.split === "test");
    assert.ok(held.length > 0, "the demo build holds reviews out");
    assert.deepEqual(body.map((review) => review.id).sort(), held.map((row) => row.id).sort(), "exactly the test split's reviews, no training review");
    for (const review of body) {
      const row = held.find((entry) => entry.id === review.id)!;
      assert.equal(review.gold.stars, row.rating);
      assert.equal(review.gold.sentiment, row.labels.sentiment.label);
    }
  });

  it("analyzes one review with the rule-based analyzer, and names the field of a bad request", async () => {
    const negative = await inject<ReviewAnalysis>("POST", "/analyze/rule-based", { text: "Terrible. It broke on the first day and the seller ignored me. Do not buy.", title: "Awful" });
    assert.equal(negative.status, 200);
    assert.equal(negative.body.sentiment, "negative");
    assert.ok(negative.body.stars <= 2, `stars ${negative.body.stars}`);
    assert.equal(negative.body.recommendation, "no");
    const positive = await inject<ReviewAnalysis>("POST", "/analyze/rule-based", { text: "Excellent blender, powerful and easy to clean. I love it and would buy it again." });
    assert.equal(positive.body.sentiment, "positive");
    assert.ok(positive.body.stars >= 4, `stars ${positive.body.stars}`);
    const empty = await inject<StudioError>("POST", "/analyze/rule-based", { text: "  " });
    assert.equal(empty.status, 400);
    assert.match(JSON.stringify(empty.body.error), /text/);
  });
});

describe("studio API and UI assets", () => {
  it("reports its status and presets, and serves the page with an import map onto local files only", async () => {
    const presets = await inject<Array<{ name: string }>>("GET", "/presets");
    assert.ok(presets.body.some((preset) => preset.name === "demo"));
    const status = await inject<StudioStatus>("GET", "/status");
    assert.equal(status.body.datasets, 2);
    assert.equal(status.body.runs, 3);
    const page = await studio.app.inject({ method: "GET", url: "/" });
    assert.equal(page.statusCode, 200);
    const map = JSON.parse(page.body.match(/<script type="importmap">([\s\S]*?)<\/script>/)![1]!) as { imports: Record<string, string> };
    assert.ok(!/https?:\/\//.test(page.body), "nothing from the network");
    for (const url of [...Object.values(map.imports), "/studio/ui/main.js", "/studio/static/studio.css"]) {
      const asset = await studio.app.inject({ method: "GET", url });
      assert.equal(asset.statusCode, 200, url);
    }
    // Every module the page loads, followed as the browser resolves them from main.js: each bare
    // import is in the map (a library the contracts import, left out, broke every page) and served.
    const seen = new Set<string>();
    const pending = ["/studio/ui/main.js"];
    while (pending.length > 0) {
      const url = pending.pop()!;
      if (seen.has(url)) continue;
      seen.add(url);
      const module = await studio.app.inject({ method: "GET", url });
      assert.equal(module.statusCode, 200, url);
      // Static imports and re-exports where a statement starts, and dynamic import("...").
      const statements = /(?:^|[;}])\s*(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"']+)["']|(?:^|[;}])\s*import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm;
      for (const match of module.body.matchAll(statements)) {
        const specifier = match[1] ?? match[2] ?? match[3];
        if (specifier!.startsWith(".") || specifier!.startsWith("/")) pending.push(new URL(specifier!, `http://studio${url}`).pathname);
        else {
          assert.ok(map.imports[specifier!], `${url} imports "${specifier}", which the import map lacks`);
          pending.push(map.imports[specifier!]!);
        }
      }
    }
    assert.ok(seen.size > 10, `${seen.size} modules followed`);
    const outside = await studio.app.inject({ method: "GET", url: "/studio/vendor/preact/package.json" });
    assert.equal(outside.statusCode, 404, "only module files are served from node_modules");
    const unknown = await inject<StudioError>("GET", "/nope");
    assert.equal(unknown.status, 404);
    assert.ok(unknown.body.error.hint);
  });
});

// `serve --backend llamacpp` in process over the real runtime: the embedded SmolLM2 GGUF through
// node-llama-cpp, a PEFT adapter converted to GGUF LoRA at load time and probed, fallback for a
// corrupt one, streaming, parallel requests, cancellation, and the routes it cannot serve.
import assert from "node:assert/strict";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { availableParallelism } from "node:os";
import { after, before, describe, it } from "node:test";
import { createServer, type ReviewtuneServer } from "../server.js";
import { makeSmolAdapters } from "../testing/tiny-models.js";
import { ANALYSIS_ORDINALS, formatAnalysis, jointChoice, medianIndex, parseAnalysis, reviewSpans, type OrdinalChoice } from "@reviewtune/contracts";
import { LlamaCppBackend, analysisGeneration, analysisPrompt, benchServe } from "@reviewtune/core";

let fixtures: ReturnType<typeof makeSmolAdapters>;
let server: ReviewtuneServer;
let backend: LlamaCppBackend;

const ask = (model: string, extra: Record<string, unknown> = {}) =>
  server.app.inject({
    method: "POST",
    url: "/v1/chat/completions",
    payload: { model, messages: [{ role: "user", content: 'Based on this review, is this product worth buying?\n\nReview: "Stopped working after a week. Waste of money."' }], max_tokens: 12, ...extra },
  });

/** From a step's returned alternatives: the option where the cumulative probability over the options reaches one half, and the likeliest option. */
/** A step's returned alternatives as weights over the options (0 for an option not among them). */
function weightsOf(top: ReadonlyArray<{ token: string; logprob: number }>, choices: readonly string[]): number[] {
  return choices.map((choice) => Math.exp(top.find((entry) => entry.token === choice)?.logprob ?? -Infinity));
}

function medianAndLikeliest(top: ReadonlyArray<{ token: string; logprob: number }>, choices: readonly string[]): { median: string | undefined; likeliest: string | undefined } {
  const weights = weightsOf(top, choices);
  return { median: choices[medianIndex(weights)], likeliest: choices[weights.indexOf(Math.max(...weights))] };
}

before(async () => {
  // Strong enough that the greedy answer changes; over the base requantized to Q8_0 as serving does,
  // so that adapters are merged into it (a small model: see LlamaCppBackend.mergedFile).
  fixtures = makeSmolAdapters(0.3, { q8: true });
  backend = new LlamaCppBackend({ gguf: fixtures.q8!, parallel: 2, contextPerSequence: 768, cacheDir: fixtures.work }); // room for an analysis (512 tokens) after its prompt
  server = createServer({
    backend,
    baseId: "smollm2-135m-instruct",
    adapters: [
      { name: "tuned", dir: fixtures.tuned },
      { name: "corrupt", dir: fixtures.corrupt },
    ],
  });
  await server.prepare();
});

after(async () => {
  await server?.close();
  rmSync(fixtures.work, { recursive: true, force: true });
});

describe("llama.cpp backend", () => {
  it("loads the converted adapter (probed: it changes the next-token probabilities) and falls back for a corrupt one", async () => {
    const models = (await server.app.inject({ method: "GET", url: "/v1/models" })).json() as { data: Array<{ id: string; reviewtune: { status: string; error: { code: string } | null; max_abs_logit_diff: number | null } }> };
    const byId = Object.fromEntries(models.data.map((model) => [model.id, model.reviewtune]));
    assert.equal(byId.tuned!.status, "loaded");
    assert.ok(byId.tuned!.max_abs_logit_diff! > 1e-3);
    assert.equal(byId.corrupt!.status, "fallback");
    assert.equal(byId.corrupt!.error!.code, "corrupt_weights");
    assert.equal(byId["all-minilm-l6-v2"], undefined, "no embedding model to list: /v1/embeddings needs --backend torch");
    // Serving a merged adapter, nothing has asked for the base: its weights were released before the
    // merged copy was loaded (the two are never in memory together; issue 17's serving memory).
    assert.equal(backend.baseWeightsLoaded, false);
  });

  it("an adapter on a small Q8_0 base is folded into a copy of it: the answers of the adapter applied at run time", async () => {
    assert.equal(readdirSync(fixtures.work).filter((name) => name.endsWith(".merged.gguf")).length, 1, "the tuned adapter was merged (the corrupt one never converted)");
    const lora = new LlamaCppBackend({ gguf: fixtures.q8!, parallel: 2, contextPerSequence: 256, cacheDir: join(fixtures.work, "lora"), mergeAdapters: false });
    try {
      await lora.start();
      await lora.whenReady();
      const loaded = await lora.loadAdapter(fixtures.tuned);
      assert.equal(readdirSync(join(fixtures.work, "lora")).filter((name) => name.endsWith(".merged.gguf")).length, 0);
      const merged = (await server.app.inject({ method: "GET", url: "/v1/models" })).json().data.find((model: { id: string }) => model.id === "tuned").reviewtune;
      assert.ok(Math.abs(merged.max_abs_logit_diff - loaded.max_abs_logit_diff) < 0.05 * loaded.max_abs_logit_diff, `probe: ${merged.max_abs_logit_diff} merged, ${loaded.max_abs_logit_diff} as a LoRA`);
      const questions = ["Is this kettle good? Review: It boils fast and looks great.", "Summarise: The blender is loud but strong.", "Sentiment of: the strap broke.", "Would you buy it? Review: Great value.", "Quality? Review: cheap plastic.", "Rate it 1-5: works fine."];
      // The merged weights are rounded to Q8_0 once more, which moves log-probabilities by about 0.1-0.3
      // (measured with a trained adapter; on an f32 copy of the base the two agree within 0.01): a wrong
      // orientation, scale or row order would move them by far more. Compare the first token.
      const request = { adapterDir: fixtures.tuned, prompts: questions.map((content) => backend.renderChat([{ role: "user", content }])), maxNewTokens: 1, temperature: 0, topP: 1, seed: 0, logprobs: 5 };
      const [asMerged, asLora] = [await backend.generate({ ...request, signal: new AbortController().signal }), await lora.generate({ ...request, signal: new AbortController().signal })];
      let same = 0;
      let drift = 0;
      for (const [index, output] of asMerged.outputs.entries()) {
        const [merged, runtime] = [output.logprobs![0]!, asLora.outputs[index]!.logprobs![0]!];
        same += Number(merged.token === runtime.token);
        drift += Math.abs((merged.top.find((entry) => entry.token === runtime.token)?.logprob ?? Math.log(1e-6)) - runtime.logprob) / questions.length;
      }
      assert.ok(same >= questions.length - 2 && drift < 0.4, `first tokens: ${same} of ${questions.length} the same, mean drift ${drift.toFixed(3)}`);
    } finally {
      await lora.close();
    }
  });

  it("base and adapter answer differently, greedy answers repeat, a corrupt adapter's request is answered by the base and marked", async () => {
    const base = await ask("base");
    assert.equal(base.statusCode, 200, base.payload);
    assert.equal(backend.baseWeightsLoaded, true, "the base's weights are loaded again when the base is asked for");
    assert.equal(base.json().reviewtune.backend, "llamacpp");
    const tuned = await ask("tuned");
    assert.equal(tuned.json().reviewtune.adapter, "tuned");
    assert.notEqual(tuned.json().choices[0].message.content, base.json().choices[0].message.content);
    assert.equal((await ask("tuned")).json().choices[0].message.content, tuned.json().choices[0].message.content, "greedy is deterministic");
    assert.ok(tuned.json().usage.completion_tokens > 0 && tuned.json().usage.prompt_tokens > 10);
    const fallback = await ask("corrupt");
    assert.equal(fallback.statusCode, 200);
    assert.equal(fallback.headers["x-reviewtune-fallback"], "corrupt_weights");
    assert.equal(fallback.json().choices[0].message.content, base.json().choices[0].message.content);
  });

  it("a sequence keeps the prompt start it shares with the next request, and no answer depends on what came before", async () => {
    const backend = server.context.backend;
    const questions = ["Is this kettle good? Review: It boils fast and looks great.", "Is this kettle good? Review: The lid broke on day two.", "Summarise: The blender is loud but strong."];
    const answer = async (content: string) => {
      const result = await backend.generate({ prompts: [backend.renderChat([{ role: "user", content }])], maxNewTokens: 10, temperature: 0, topP: 1, seed: 0, signal: new AbortController().signal });
      return result.outputs[0]!.text;
    };
    const forward: string[] = [];
    for (const question of questions) forward.push(await answer(question));
    const backward: string[] = [];
    for (const question of [...questions].reverse()) backward.unshift(await answer(question));
    assert.deepEqual(backward, forward);
    assert.equal(await answer(questions[1]!), forward[1], "the same prompt twice in a row");
    assert.ok(new Set(forward).size > 1, `the prompts should not all get one answer: ${JSON.stringify(forward)}`);
  });

  it("streams the same text as the JSON answer; parallel requests all succeed", async () => {
    const whole = (await ask("tuned")).json().choices[0].message.content as string;
    const streamed = await ask("tuned", { stream: true });
    const text = streamed.payload
      .split("\n\n")
      .filter((block) => block.startsWith("data: {"))
      .map((block) => JSON.parse(block.slice(6)).choices[0]?.delta?.content ?? "")
      .join("");
    assert.equal(text, whole);
    // More requests than sequences, twice over: sequences are reused, never run out.
    const answers = await Promise.all(Array.from({ length: 8 }, (_, index) => ask(index % 2 ? "tuned" : "base", { max_tokens: 4 })));
    assert.deepEqual(answers.map((answer) => answer.statusCode), Array(8).fill(200), answers.map((answer) => answer.payload).join("\n"));
    assert.ok(answers.every((answer) => answer.json().usage.completion_tokens <= 4));
    assert.equal(answers[1]!.json().choices[0].message.content, answers[3]!.json().choices[0].message.content, "a reused sequence starts clean");
  });

  it("a lone request's prompt is evaluated on every thread, prompts side by side on one thread each", async () => {
    assert.ok(backend.threads > 1, "this check needs two cores");
    const prompt = (text: string) => backend.renderChat([{ role: "user", content: `Summarise this review in one line: ${text}` }]);
    const request = { maxNewTokens: 4, temperature: 0, topP: 1, seed: 0, signal: new AbortController().signal };
    const before = backend.widePromptChunks;
    // Reviews no earlier request had (a sequence keeps the prompt start it shares with the last one).
    await backend.generate({ ...request, prompts: [prompt("The kettle whistles loudly and the lid sticks."), prompt("Lovely mug, the glaze chipped in the dishwasher.")] });
    assert.equal(backend.widePromptChunks, before, "two prompts at once: one thread each");
    await backend.generate({ ...request, prompts: [prompt("The vacuum's cord is too short for the stairs.")] });
    assert.ok(backend.widePromptChunks > before, "a lone prompt on the whole budget");
  });

  it("a prompt past a sequence's context (768 tokens here) is refused with 400 context_length_exceeded; one thread budget within the cores", async () => {
    const backend = server.context.backend as LlamaCppBackend;
    assert.equal(backend.contextLength, 768);
    assert.ok(backend.threads >= 1 && backend.threads <= availableParallelism(), `threads ${backend.threads}`);
    const huge = await ask("tuned", { messages: [{ role: "user", content: "great product. ".repeat(600) }], max_tokens: 8 });
    assert.equal(huge.statusCode, 400, huge.payload);
    assert.equal(huge.json().error.code, "context_length_exceeded");
    assert.equal(huge.json().error.param, "messages");
    assert.match(huge.json().error.message, /maximum context length is 768 tokens/);
    assert.equal((await ask("tuned")).statusCode, 200);
  });

  it("a request aborted while its prompt is evaluated stops there, and the sequence answers the next prompt as if it had not happened", async () => {
    const backend = server.context.backend;
    const prompt = (content: string) => backend.renderChat([{ role: "user", content }]);
    const long = prompt(`Summarise this review: ${"The blender is loud but strong, and the jar is sturdy. ".repeat(14)}`);
    const other = prompt(`Summarise this review: ${"The kettle boils fast, but the lid cracked in a week. ".repeat(14)}`);
    const request = (text: string, signal: AbortSignal) => backend.generate({ prompts: [text], maxNewTokens: 8, temperature: 0, topP: 1, seed: 0, signal });
    const reference = (await request(long, new AbortController().signal)).outputs[0]!.text;
    const controller = new AbortController();
    const cancelled = request(other, controller.signal);
    setImmediate(() => controller.abort()); // while its first prompt chunk is evaluated
    const output = (await cancelled).outputs[0]!;
    assert.equal(output.finish_reason, "cancelled");
    assert.equal(output.new_tokens, 0);
    assert.equal((await request(long, new AbortController().signal)).outputs[0]!.text, reference);
  });

  it("a time limit cancels the generation (504); embeddings say to use the torch backend", async () => {
    const quick = createServer({ backend: server.context.backend, baseId: "smollm2-135m-instruct", requestTimeoutMs: 1 });
    const slow = await quick.app.inject({ method: "POST", url: "/v1/chat/completions", payload: { model: "base", messages: [{ role: "user", content: "Tell me a long story." }], max_tokens: 200 } });
    assert.equal(slow.statusCode, 504);
    await quick.context.queue.onIdle();
    await quick.app.close();
    const embeddings = await server.app.inject({ method: "POST", url: "/v1/embeddings", payload: { model: "all-minilm-l6-v2", input: "x" } });
    assert.equal(embeddings.statusCode, 400);
    assert.match(embeddings.json().error.message, /--backend torch/);
  });

  it("a lone surrogate in a message is a 400 naming the field", async () => {
    const broken = await server.app.inject({ method: "POST", url: "/v1/chat/completions", payload: { model: "base", messages: [{ role: "user", content: "a\ud800b" }], max_tokens: 2 } });
    assert.equal(broken.statusCode, 400, broken.payload);
    assert.equal(broken.json().error.param, "messages.0.content");
  });

  it("OpenAI's stop, penalties, seed and logprobs are honoured on llama.cpp too", async () => {
    const free = (await ask("base", { max_tokens: 24 })).json().choices[0].message.content as string;
    assert.ok(free.length > 8, free);
    const stop = free.slice(4, 7);
    const stopped = await ask("base", { max_tokens: 24, stop: [stop] });
    assert.equal(stopped.json().choices[0].message.content, free.slice(0, free.indexOf(stop)));
    assert.equal(stopped.json().choices[0].finish_reason, "stop");
    const streamed = (await ask("base", { max_tokens: 24, stop, stream: true })).payload
      .split("\n\n")
      .filter((block) => block.startsWith("data: {"))
      .map((block) => JSON.parse(block.slice(6)).choices[0]?.delta?.content ?? "")
      .join("");
    assert.equal(streamed, stopped.json().choices[0].message.content, "the stream never shows the stop string");
    const penalized = await ask("base", { max_tokens: 24, presence_penalty: 2, frequency_penalty: 2 });
    assert.notEqual(penalized.json().choices[0].message.content, free);
    const sampled = async (seed: number) => (await ask("base", { max_tokens: 12, temperature: 1.5, seed })).json().choices[0].message.content as string;
    assert.equal(await sampled(5), await sampled(5));
    assert.notEqual(await sampled(5), await sampled(6));
    const logprobs = (await ask("base", { max_tokens: 4, logprobs: true, top_logprobs: 3 })).json().choices[0].logprobs.content as Array<{ logprob: number; top_logprobs: Array<{ logprob: number }> }>;
    assert.equal(logprobs.length, 4);
    for (const entry of logprobs) {
      assert.ok(entry.logprob <= 0 && entry.top_logprobs.length === 3);
      assert.ok(Math.abs(entry.top_logprobs[0]!.logprob - entry.logprob) < 1e-3, "greedy: the chosen token is the likeliest");
    }
  });

  it("an analysis's keys are fed in batches (jump forward): the same answers as decoding them token by token", async () => {
    // An example answer in the prompt makes the base write the compact form the rules know.
    const shot = formatAnalysis({ stars: 2, sentiment: "negative", score: -0.5, quality: "poor", recommendation: "no", aspects: [{ term: "strap", polarity: "negative" }], summary: "The strap broke after a week." });
    const reviews = ["It works, I guess. Nothing special.", "Broke after a month but the seller replaced it.", "Love it! The battery lasts forever.", "Too small, returned it."];
    const prompts = reviews.map((text) => backend.renderChat([{ role: "user", content: `Example answer: ${shot}\n\n${analysisPrompt({ text })}` }]));
    const before = backend.jumpedTokens;
    const keptBefore = backend.keptReads;
    const jumped = await backend.generate({ prompts, ...analysisGeneration(reviews.map((text) => ({ text }))), signal: new AbortController().signal });
    const fed = backend.jumpedTokens - before;
    // The sentiment's reading after the stars stayed in the context where the answer went on with it.
    const kept = backend.keptReads - keptBefore;
    assert.ok(kept > 0, "some second readings were kept");
    const plain = await backend.generate({ prompts, ...analysisGeneration(reviews.map((text) => ({ text }))), jumps: undefined, signal: new AbortController().signal });
    assert.equal(backend.jumpedTokens - before, fed, "nothing jumps without rules");
    assert.equal(backend.keptReads - keptBefore, kept, "nor is a reading kept");
    assert.ok(fed >= 10 * reviews.length, `${fed} tokens fed for ${reviews.length} analyses`);
    let terms = 0;
    for (const [index, output] of jumped.outputs.entries()) {
      const parsed = parseAnalysis(output.text);
      assert.ok(parsed.ok, output.text);
      // Each review's own schema: its aspect terms are phrases of that review (the example's "strap" is in none).
      for (const aspect of parsed.analysis.aspects) assert.ok(reviewSpans(reviews[index]!).includes(aspect.term), `${aspect.term} in ${reviews[index]}`);
      terms += parsed.analysis.aspects.length;
      assert.equal(output.text, plain.outputs[index]!.text);
      assert.equal(output.finish_reason, "stop");
      assert.equal(output.new_tokens, plain.outputs[index]!.new_tokens, "fed tokens count as the answer's");
    }
    assert.ok(terms > 0, "some aspects were named");
  });

  it("bench serve --analysis asks POST /v1/analyze one review at a time and counts complete analyses", async () => {
    const address = await server.app.listen({ host: "127.0.0.1", port: 0 });
    const [result] = await benchServe({ targets: [{ label: "llamacpp", url: address }], model: "tuned", analysis: true, concurrency: 2, requests: 4, maxTokens: 512, timeLimitSeconds: 120, dollarsPerHour: 0 });
    assert.equal(result!.errors, 0, result!.errorSamples.join("; "));
    assert.equal(result!.completed, 4);
    assert.equal(result!.complete, 4, "every answer is an analysis (decoding is constrained to the schema)");
    assert.equal(result!.fallbacks, 0);
    assert.ok(result!.meanCompletionTokens > 20);
    // The server's own peak (llama.cpp runs in it), from /metrics: this test process holds two models.
    assert.ok(result!.peakMemoryBytes!.server > 200 * 1024 ** 2 && result!.peakMemoryBytes!.engine === undefined, JSON.stringify(result!.peakMemoryBytes));
  });

  it("the analysis's stars and sentiment are decided together from the model's two readings (jointChoice), not the likeliest options", async () => {
    const reviews = ["It works, I guess. Nothing special.", "Broke after a month but the seller replaced it.", "Love it!", "Too small, returned it.", "Okay for the price.", "Three stars: fine, not great."];
    const stars = ANALYSIS_ORDINALS[0]!;
    const then = stars.then!;
    // The step where an option was written after `after` (the answer so far, whitespace ignored).
    const stepAt = (steps: ReadonlyArray<{ token: string }>, after: string, choices: readonly string[]) =>
      steps.findIndex((step, position) => choices.includes(step.token) && steps.slice(0, position).map((entry) => entry.token).join("").replace(/\s+/g, "").endsWith(after));
    let differs = 0;
    let joint = 0;
    // The base writes each label as one token; the random adapter spells them out but is unsure of the stars.
    for (const adapterDir of [undefined, fixtures.tuned]) {
      const prompts = reviews.map((text) => backend.renderChat([{ role: "user", content: analysisPrompt({ text }) }]));
      const generation = analysisGeneration(reviews.map((text) => ({ text })));
      const request = { adapterDir, prompts, ...generation, maxNewTokens: 32, logprobs: 12, signal: new AbortController().signal }; // both choices come within the first tokens; under the grammar only the options (and the spaces it admits) have any probability there
      const result = await backend.generate(request);
      // Without log-probabilities the tokens read for the sentiment stay in the context where the
      // answer goes on with them (and the keys come in batches): the same answers.
      const kept = await backend.generate({ ...request, logprobs: undefined });
      assert.deepEqual(kept.outputs.map((output) => output.text), result.outputs.map((output) => output.text));
      for (const [index, output] of result.outputs.entries()) {
        const steps = output.logprobs!;
        const starsAt = stepAt(steps, stars.after, stars.choices);
        assert.ok(starsAt >= 0, `the stars chosen in ${output.text}`);
        const first = weightsOf(steps[starsAt]!.top, stars.choices);
        const median = medianIndex(first);
        const sentimentAt = stepAt(steps, '"sentiment":"', then.choices);
        if (sentimentAt < 0) continue; // the random adapter spells the label out: decided alone, not jointly
        // The second reading: the next-token distribution after the answer so far, the median star and
        // the text between (as the backend reads it, whatever spacing the answer itself used), asked
        // as a plain one-token completion.
        const prefix = steps.slice(0, starsAt).map((step) => step.token).join("") + stars.choices[median] + then.text;
        const reading = (await backend.generate({ adapterDir, prompts: [prompts[index]! + prefix], maxNewTokens: 1, temperature: 0, topP: 1, seed: 0, logprobs: 40, signal: new AbortController().signal })).outputs[0]!;
        const second = weightsOf(reading.logprobs![0]!.top, then.choices);
        const expected = jointChoice(first, second, then.bands)!;
        assert.equal(steps[starsAt]!.token, stars.choices[expected.first], `stars in ${output.text}: ${JSON.stringify({ first, second })}`);
        assert.equal(steps[sentimentAt]!.token, then.choices[expected.second], `sentiment in ${output.text}: ${JSON.stringify({ first, second })}`);
        joint += 1;
        differs += Number(expected.first !== median || expected.second !== medianIndex(second) || stars.choices[median] !== stars.choices[first.indexOf(Math.max(...first))]);
      }
    }
    assert.ok(joint >= reviews.length, "the base decided every review's stars and sentiment together");
    assert.ok(differs > 0, "somewhere the decision is not the likeliest star and its own sentiment median (else plain decoding would pass)");
  });

  it("an ordinal choice is the median of the model's distribution over its options, and the answer follows the option taken", async () => {
    // A scale of nine, where the model is unsure: the median and the likeliest differ.
    const digits = ["1", "2", "3", "4", "5", "6", "7", "8", "9"];
    const pickPrompts = ["Pick a number from 1 to 9.", "How many legs does a spider have?", "Rate pizza from 1 to 9."].map((content) => backend.renderChat([{ role: "user", content }]));
    // One prompt per request, so that the check below compares answers computed in batches of the same
    // shape (llama.cpp's sums differ in the last digits between batch shapes).
    const pick = async (prompt: string, first: number[], ordinal: OrdinalChoice[]) =>
      (
        await backend.generate({
          prompts: [prompt],
          ...analysisGeneration([]),
          jsonSchema: { type: "object", properties: { n: { enum: first }, m: { enum: digits.map(Number) }, why: { type: "string", maxLength: 12 } }, required: ["n", "m", "why"] },
          ordinal,
          maxNewTokens: 32,
          logprobs: 12,
          signal: new AbortController().signal,
        })
      ).outputs[0]!;
    let replaced = 0;
    for (const prompt of pickPrompts) {
      const output = await pick(prompt, digits.map(Number), [{ after: '"n":', choices: digits }, { after: '"m":', choices: digits }]);
      const at = output.logprobs!.findIndex((entry) => digits.includes(entry.token));
      const step = output.logprobs![at]!;
      const { median, likeliest } = medianAndLikeliest(step.top, digits);
      assert.equal(step.token, median, `${output.text}: ${JSON.stringify(step.top)}`);
      if (likeliest === median) continue;
      // The rest of the answer (the second choice included) follows the option taken, not the one it
      // replaced: the same as when a grammar admits only that option.
      replaced += 1;
      const again = await pick(prompt, [Number(median)], [{ after: '"m":', choices: digits }]);
      assert.equal(again.text, output.text);
      const second = output.logprobs!.findIndex((entry, position) => position > at && digits.includes(entry.token));
      assert.ok(second > at, `a second choice in ${output.text}`);
      for (const [rank, alternative] of output.logprobs![second]!.top.entries()) {
        const same = again.logprobs![second]!.top[rank]!;
        assert.ok(same.token === alternative.token && (same.logprob === alternative.logprob || Math.abs(same.logprob - alternative.logprob) < 1e-4), `${JSON.stringify(again.logprobs![second])} vs ${JSON.stringify(output.logprobs![second])}`);
      }
    }
    assert.ok(replaced > 0, "some pick was replaced by its median");
  });
});

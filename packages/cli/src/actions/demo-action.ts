// `reviewtune demo`: everything offline on the embedded defaults. Base answers first, then a LoRA
// fine-tune with a live progress bar, then the same prompts answered by the tuned model, side by side.
import { join } from "node:path";
import { EvalSettingsSchema } from "@reviewtune/contracts";
import { CancelledError, DEMO_CHAT_TASKS_PER_REVIEW, DEMO_EXAMPLES_PER_REVIEW, analysisTable, answer, buildDemoDataset, chatTemplateFor, demoPrompts, ensureEngineEnvironment, evaluateRun, headlineTable, resolveConfig, runPath, startRun, writeEvalReport } from "@reviewtune/core";
import { backendForRun, onInterrupt, startEngine } from "../engine.js";
import { trainingProgress } from "../progress.js";
import { printRunSummary } from "../lib/run-summary.js";
import { sideBySide } from "../lib/side-by-side.js";

export interface DemoOptions {
  runsDir: string;
  reviews?: number;
  epochs?: number;
  maxTokens: number;
  evalReviews: number;
  verbose?: boolean;
  /** false with --no-studio. */
  studio: boolean;
}

export async function runDemo(options: DemoOptions): Promise<void> {
  const studio = await demoWithoutStudio(options);
  if (!studio || !options.studio) return;
  // Only in an interactive terminal: the studio runs until Ctrl-C, which would keep CI or a pipe waiting forever.
  // No references: the demo trains on built-in examples, not a dataset folder, and eval-data's own
  // train split is not what the run learned from (the started studio and the printed command agree).
  const command = `reviewtune studio --runs ${options.runsDir} --data ${studio.data} --model ${studio.model} --no-references`;
  if (!process.stdout.isTTY || process.env.CI) {
    console.log(`\nstudio: not started (not an interactive terminal). See the run in the browser with:\n  npx ${command}`);
    return;
  }
  console.log(`\nstep 6: the studio (the same as \`${command}\`; Ctrl-C stops it, --no-studio skips it)`);
  const { runStudio } = await import("./studio-action.js");
  await runStudio({ port: 7860, host: "127.0.0.1", runs: options.runsDir, data: [studio.data], model: studio.model, references: false, open: true });
}

/** The demo itself; returns what the studio shows afterwards (null if it did not finish). */
async function demoWithoutStudio(options: DemoOptions): Promise<{ data: string; model: string } | null> {
  const started = Date.now();
  console.log("reviewtune demo: fine-tune SmolLM2-135M-Instruct (embedded, CPU) on the project's demo reviews, then compare.\n");
  console.log("step 1/5: engine environment");
  await ensureEngineEnvironment({ log: (line) => console.log(`  ${line}`) });
  const { config, origin } = resolveConfig({
    preset: "demo",
    overrides: {
      ...(options.reviews ? { data: { demo_reviews: options.reviews } } : {}),
      ...(options.epochs ? { training: { epochs: options.epochs } } : {}),
    },
  });
  console.log("step 2/5: base model answers (before fine-tuning)");
  const engine = await startEngine({ verbose: options.verbose ?? false });
  const controller = new AbortController();
  const dispose = onInterrupt(() => controller.abort());
  const progress = trainingProgress();
  try {
    const template = await chatTemplateFor(engine, config.model, config.data.template);
    const prompts = demoPrompts(config.training.seed, 3);
    const conversations = prompts.map((content) => [{ role: "user", content }]);
    const generation = { engine, model: config.model, template, maxNewTokens: options.maxTokens, signal: controller.signal };
    const before = await answer(conversations, generation);
    console.log(`  ${prompts.length} answers in ${before.seconds.toFixed(1)} s\n`);

    console.log(`step 3/5: LoRA fine-tune (${origin}: ${config.data.demo_reviews} reviews x ${DEMO_EXAMPLES_PER_REVIEW} examples (${DEMO_CHAT_TASKS_PER_REVIEW} chat tasks + the analysis), ${config.training.epochs} epochs)`);
    const record = await startRun(config, origin, options.runsDir, { engine, onEvent: progress.onEvent, signal: controller.signal });
    progress.stop();
    const directory = join(options.runsDir, record.id);
    printRunSummary(record, directory);
    if (record.status === "cancelled") {
      throw new CancelledError("the demo was interrupted; its checkpoint is saved", { hint: `resume the training with: npx reviewtune train --resume ${directory}` });
    }

    // A small model after a few minutes on a CPU: a reader should not take a few answers for its measure.
    console.log(`\nstep 4/5: the same prompts, base vs fine-tuned (${config.data.demo_reviews} reviews, ${record.result!.global_step} steps: ${prompts.length} answers to read, not a measure; step 5 measures it on ${options.evalReviews} held-out reviews)`);
    const after = await answer(conversations, { ...generation, adapter: record.result!.adapter_dir! });
    const width = Math.min(process.stdout.columns || 120, 140);
    prompts.forEach((prompt, index) => {
      console.log(`\n${"=".repeat(width)}\nprompt ${index + 1}: ${prompt.replace(/\n+/g, " ")}\n`);
      console.log(sideBySide(before.outputs[index]!.text, after.outputs[index]!.text, ["base model", "fine-tuned (LoRA)"], width));
    });
    console.log(`\n${"=".repeat(width)}`);

    // Held-out reviews from another generator seed, so none of them was trained on. Twice as many
    // reviews as asked with half of them in test: the splitter gives each stratum's odd review to
    // test, so the test split holds at least --eval-reviews reviews.
    console.log(`\nstep 5/5: evaluation on ${options.evalReviews} held-out demo reviews (tuned vs base vs baselines)`);
    const evalData = join(directory, "eval-data");
    const evalCard = await buildDemoDataset({ out: evalData, reviews: 2 * options.evalReviews, seed: config.training.seed + 1000, validation: 0, test: 0.5, force: true });
    if (evalCard.splits.test.reviews < options.evalReviews) {
      throw new Error(`the demo's evaluation set ${evalData} has ${evalCard.splits.test.reviews} test reviews, fewer than --eval-reviews ${options.evalReviews}`);
    }
    // The fast CPU path (llama.cpp, the analysis constrained to its schema), one chat question per review in turn.
    const backend = await backendForRun(record, { backend: "auto", engine, parallel: 16, say: (line) => console.log(`  ${line}`) });
    let report;
    try {
      report = await evaluateRun({
        engine,
        backend,
        chatPerReview: backend ? 1 : undefined,
        runDirectory: directory,
        dataDirectory: evalData,
        limit: options.evalReviews,
        settings: EvalSettingsSchema.parse({}),
        maxNewTokens: options.maxTokens,
        onStatus: (message) => console.log(`  ${message}`),
        signal: controller.signal,
      });
    } finally {
      await backend?.close();
    }
    const files = writeEvalReport(runPath(directory, "eval"), report);
    if (report.analysis) console.log(`\n${analysisTable(report)}`);
    console.log(`\n${headlineTable(report)}\n`);
    console.log(`report: ${files.html}`);
    console.log(`demo finished in ${((Date.now() - started) / 1000).toFixed(0)} s. Run folder: ${directory}`);
    console.log(`try: npx reviewtune ask --run ${directory} "Should I buy this product? Review: \\"The strap broke in a week.\\""`);
    return { data: evalData, model: config.model.source };
  } finally {
    progress.stop();
    dispose();
    await engine.shutdown();
  }
}

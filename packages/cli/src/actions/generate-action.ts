// `reviewtune ask` and `reviewtune generate`: answers through the one model interface (llama.cpp or
// the torch engine, the model's chat template applied by the backend); ask streams tokens to stdout
// as they come.

import { UsageError, answerWith, readPromptFile, writeFileAtomic, type GenerationBackend } from "@reviewtune/core";
import { modelFromOptions, type ModelChoice } from "../lib/model-choice.js";
import { onInterrupt, openModel } from "../engine.js";
import { groundingForRun, type Ground } from "../lib/grounding.js";

export interface AskOptions {
  run?: string;
  model?: string;
  adapter?: string;
  base?: boolean;
  allowPickle?: boolean;
  maxTokens: number;
  temperature: number;
  backend: string;
  quant?: string;
  verbose?: boolean;
}

export interface GenerateOptions extends Omit<AskOptions, "maxTokens" | "temperature"> {
  prompts: string;
  out: string;
  maxTokens: number;
  temperature: number;
  batchSize: number;
}

/**
 * Opens the chosen model (and adapter) on a backend, runs `work`, always closes it. A run trained
 * with grounded prompts is asked the same way (lib/grounding.ts).
 */
async function withModel(
  options: AskOptions | GenerateOptions,
  onStop: string,
  work: (context: { backend: GenerationBackend; adapterDir: string | undefined; choice: ModelChoice; signal: AbortSignal; ground: Ground }) => Promise<void>,
): Promise<void> {
  const choice = modelFromOptions(options);
  const { backend, adapterDir } = await openModel(choice, { backend: options.backend, quant: options.quant, verbose: options.verbose });
  const controller = new AbortController();
  const dispose = onInterrupt(() => controller.abort(), onStop);
  let grounding: Awaited<ReturnType<typeof groundingForRun>> | undefined;
  try {
    grounding = await groundingForRun(choice.run, backend, controller.signal, options.verbose ?? false);
    await work({ backend, adapterDir, choice, signal: controller.signal, ground: grounding.ground });
  } finally {
    dispose();
    await grounding?.close();
    await backend.close();
  }
}

export async function runAsk(prompt: string, options: AskOptions): Promise<void> {
  // Checked before a model is loaded: an empty message was answered with 128 tokens of nothing in particular.
  if (prompt.trim() === "") throw new UsageError("the prompt is empty", { hint: 'ask a question: reviewtune ask "Is this review positive? Review: ..."' });
  await withModel(options, "the answer so far stays printed", async ({ backend, adapterDir, choice, signal, ground }) => {
    console.error(`[${choice.model.source}${choice.adapter ? ` + adapter ${choice.adapter}` : ""} on ${backend.name}]`);
    const result = await answerWith(backend, await ground([[{ role: "user", content: prompt }]]), {
      adapterDir,
      maxNewTokens: options.maxTokens,
      temperature: options.temperature,
      onToken: (_index, text) => process.stdout.write(text),
      signal,
    });
    const output = result.outputs[0]!;
    process.stdout.write("\n");
    console.error(`[${output.new_tokens} tokens, ${result.tokens_per_second.toFixed(1)} tokens/s, ${output.finish_reason}]`);
    // Ctrl-C exits 130 as every other command does: a script must not take a cut answer for a whole one.
    if (signal.aborted) process.exitCode = 130;
  });
}

export async function runGenerate(options: GenerateOptions): Promise<void> {
  const conversations = readPromptFile(options.prompts);
  await withModel(options, "no answers file is written", async ({ backend, adapterDir, signal, ground }) => {
    const result = await answerWith(backend, await ground(conversations), {
      adapterDir,
      maxNewTokens: options.maxTokens,
      temperature: options.temperature,
      batchSize: options.batchSize,
      signal,
    });
    if (signal.aborted) {
      console.error(`interrupted: nothing written to ${options.out} (${result.outputs.length} of ${conversations.length} prompts were being answered)`);
      process.exitCode = 130;
      return;
    }
    const lines = result.outputs.map((output, index) =>
      JSON.stringify({ messages: conversations[index], answer: output.text, new_tokens: output.new_tokens, finish_reason: output.finish_reason }),
    );
    // Written whole, then renamed: an interrupted run never leaves a file that looks complete.
    writeFileAtomic(options.out, `${lines.join("\n")}\n`);
    console.error(`${lines.length} answers written to ${options.out} (${result.seconds.toFixed(1)} s, ${result.tokens_per_second.toFixed(1)} tokens/s on ${backend.name}${result.adapter_loaded ? ", with adapter" : ""})`);
  });
}

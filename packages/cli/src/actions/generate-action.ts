// `reviewtune ask` and `reviewtune generate`: the model's chat template is applied here, the engine
// generates; ask streams tokens to stdout as they come.
import { renameSync, writeFileSync } from "node:fs";
import { answer, chatTemplateFor, readPromptFile, type ChatTemplate, type EngineClient } from "@reviewtune/core";
import type { AskOptions, GenerateOptions } from "../commands/ask.js";
import { modelFromOptions, type ModelChoice } from "../commands/shared.js";
import { onInterrupt, startEngine } from "../engine.js";

/** Starts the engine, loads the chosen model's chat template, runs `work`, always shuts down. */
async function withModel(
  options: AskOptions | GenerateOptions,
  work: (context: { engine: EngineClient; choice: ModelChoice; template: ChatTemplate; signal: AbortSignal }) => Promise<void>,
): Promise<void> {
  const choice = modelFromOptions(options);
  const engine = await startEngine({ verbose: options.verbose ?? false });
  const controller = new AbortController();
  const dispose = onInterrupt(() => controller.abort());
  try {
    const template = await chatTemplateFor(engine, choice.model, choice.run?.config.data.template);
    await work({ engine, choice, template, signal: controller.signal });
  } finally {
    dispose();
    await engine.shutdown();
  }
}

export async function runAsk(prompt: string, options: AskOptions): Promise<void> {
  await withModel(options, async ({ engine, choice, template, signal }) => {
    console.error(`[${choice.model.source}${choice.adapter ? ` + adapter ${choice.adapter}` : ""}]`);
    const result = await answer([[{ role: "user", content: prompt }]], {
      engine,
      model: choice.model,
      template,
      adapter: choice.adapter,
      maxNewTokens: options.maxTokens,
      temperature: options.temperature,
      onToken: (_index, text) => process.stdout.write(text),
      signal,
    });
    const output = result.outputs[0]!;
    process.stdout.write("\n");
    console.error(`[${output.new_tokens} tokens, ${result.tokens_per_second.toFixed(1)} tokens/s, ${output.finish_reason}]`);
  });
}

export async function runGenerate(options: GenerateOptions): Promise<void> {
  const conversations = readPromptFile(options.prompts);
  await withModel(options, async ({ engine, choice, template, signal }) => {
    const result = await answer(conversations, {
      engine,
      model: choice.model,
      template,
      adapter: choice.adapter,
      maxNewTokens: options.maxTokens,
      temperature: options.temperature,
      batchSize: options.batchSize,
      signal,
    });
    const lines = result.outputs.map((output, index) =>
      JSON.stringify({ messages: conversations[index], answer: output.text, new_tokens: output.new_tokens, finish_reason: output.finish_reason }),
    );
    // Written whole, then renamed: an interrupted run never leaves a file that looks complete.
    const partial = `${options.out}.partial`;
    writeFileSync(partial, `${lines.join("\n")}\n`);
    renameSync(partial, options.out);
    console.error(`${lines.length} answers written to ${options.out} (${result.seconds.toFixed(1)} s, ${result.tokens_per_second.toFixed(1)} tokens/s${result.adapter_loaded ? ", with adapter" : ""})`);
  });
}

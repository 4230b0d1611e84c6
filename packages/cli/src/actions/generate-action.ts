// `reviewtune ask` and `reviewtune generate`: the model's chat template is applied here, the engine
// generates; ask streams tokens to stdout as they come.
import { renameSync, writeFileSync } from "node:fs";
import { ChatTemplate, ConfigError, answer, readPromptFile, type EngineClient } from "@reviewtune/core";
import type { TrainConfig } from "@reviewtune/contracts";
import type { AskOptions, GenerateOptions } from "../commands/ask.js";
import { modelFromOptions } from "../commands/shared.js";
import { onInterrupt, startEngine } from "../engine.js";

async function templateFor(engine: EngineClient, model: TrainConfig["model"], override?: string): Promise<ChatTemplate> {
  const info = await engine.request("model_info", { model });
  const source = override ?? info.chat_template;
  if (!source) {
    throw new ConfigError(`${model.source} has no chat template`, [], { hint: "use a chat (instruct) model, or a run whose config sets data.template" });
  }
  return new ChatTemplate(source, { bos_token: info.bos_token, eos_token: info.eos_token });
}

export async function runAsk(prompt: string, options: AskOptions): Promise<void> {
  const choice = modelFromOptions(options);
  const engine = await startEngine({ verbose: options.verbose ?? false });
  const controller = new AbortController();
  const dispose = onInterrupt(() => controller.abort());
  try {
    const template = await templateFor(engine, choice.model, choice.run?.config.data.template);
    console.error(`[${choice.model.source}${choice.adapter ? ` + adapter ${choice.adapter}` : ""}]`);
    const result = await answer([[{ role: "user", content: prompt }]], {
      engine,
      model: choice.model,
      template,
      adapter: choice.adapter,
      maxNewTokens: options.maxTokens,
      temperature: options.temperature,
      onToken: (_index, text) => process.stdout.write(text),
      signal: controller.signal,
    });
    const output = result.outputs[0]!;
    process.stdout.write("\n");
    console.error(`[${output.new_tokens} tokens, ${result.tokens_per_second.toFixed(1)} tokens/s, ${output.finish_reason}]`);
  } finally {
    dispose();
    await engine.shutdown();
  }
}

export async function runGenerate(options: GenerateOptions): Promise<void> {
  const conversations = readPromptFile(options.prompts);
  const choice = modelFromOptions(options);
  const engine = await startEngine({ verbose: options.verbose ?? false });
  const controller = new AbortController();
  const dispose = onInterrupt(() => controller.abort());
  try {
    const template = await templateFor(engine, choice.model, choice.run?.config.data.template);
    const result = await answer(conversations, {
      engine,
      model: choice.model,
      template,
      adapter: choice.adapter,
      maxNewTokens: options.maxTokens,
      temperature: options.temperature,
      batchSize: options.batchSize,
      signal: controller.signal,
    });
    const lines = result.outputs.map((output, index) =>
      JSON.stringify({ messages: conversations[index], answer: output.text, new_tokens: output.new_tokens, finish_reason: output.finish_reason }),
    );
    // Written whole, then renamed: an interrupted run never leaves a file that looks complete.
    const partial = `${options.out}.partial`;
    writeFileSync(partial, `${lines.join("\n")}\n`);
    renameSync(partial, options.out);
    console.error(`${lines.length} answers written to ${options.out} (${result.seconds.toFixed(1)} s, ${result.tokens_per_second.toFixed(1)} tokens/s${result.adapter_loaded ? ", with adapter" : ""})`);
  } finally {
    dispose();
    await engine.shutdown();
  }
}

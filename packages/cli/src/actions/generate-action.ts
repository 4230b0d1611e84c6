// `reviewtune ask` and `reviewtune generate`: the model's chat template is applied here, the engine
// generates; ask streams tokens to stdout as they come.
import { writeFileSync } from "node:fs";
import { ChatTemplate, answer, readPromptFile, type EngineClient } from "@reviewtune/core";
import type { TrainConfig } from "@reviewtune/contracts";
import type { AskOptions, GenerateOptions } from "../commands/ask.js";
import { modelFromOptions } from "../commands/shared.js";
import { onInterrupt, startEngine } from "../engine.js";

async function templateFor(engine: EngineClient, model: TrainConfig["model"], override?: string): Promise<ChatTemplate> {
  const info = await engine.request("model_info", { model });
  const source = override ?? info.chat_template;
  if (!source) throw new Error(`${model.source} has no chat template; use a chat model or a run with data.template`);
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
    let done = 0;
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
    const lines = result.outputs.map((output, index) => {
      done += 1;
      return JSON.stringify({ messages: conversations[index], answer: output.text, new_tokens: output.new_tokens, finish_reason: output.finish_reason });
    });
    writeFileSync(options.out, `${lines.join("\n")}\n`);
    console.error(`${done} answers written to ${options.out} (${result.seconds.toFixed(1)} s, ${result.tokens_per_second.toFixed(1)} tokens/s${result.adapter_loaded ? ", with adapter" : ""})`);
  } finally {
    dispose();
    await engine.shutdown();
  }
}

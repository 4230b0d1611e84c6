// The chat template a model answers in: the model's own (read by the engine from its tokenizer), or
// the override a config sets (data.template, e.g. recipe R2's "[INST]" format).
import type { TrainConfig } from "@reviewtune/contracts";
import type { EngineClient } from "../engine/client.js";
import { ConfigError } from "../errors.js";
import { ChatTemplate } from "./chat-template.js";

export async function chatTemplateFor(engine: EngineClient, model: TrainConfig["model"], override?: string): Promise<ChatTemplate> {
  const info = await engine.request("model_info", { model });
  const source = override ?? info.chat_template;
  if (!source) {
    throw new ConfigError(`${model.source} has no chat template`, [], {
      hint: "use a chat (instruct) model, set data.template to a Jinja chat template, or train on prompt/completion rows",
    });
  }
  return new ChatTemplate(source, { bos_token: info.bos_token, eos_token: info.eos_token });
}

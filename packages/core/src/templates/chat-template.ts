// Applies a model's own chat template (Jinja, rendered by @huggingface/jinja exactly as transformers
// does) and splits a conversation into the prompt and the completion that carries the loss.
import { Template } from "@huggingface/jinja";
import { ConfigError } from "../errors.js";

export interface ChatMessage {
  role: string;
  content: string;
}

/** The user's turns of a conversation, joined: the question a training example asks. */
export function userTurns(messages: ChatMessage[]): string {
  return messages.filter((message) => message.role === "user").map((message) => message.content).join("\n\n");
}

export interface TemplateTokens {
  bos_token?: string | null;
  eos_token?: string | null;
}

export class ChatTemplate {
  private readonly template: Template;

  constructor(
    readonly source: string,
    readonly tokens: TemplateTokens = {},
  ) {
    try {
      this.template = new Template(source);
    } catch (error) {
      throw new ConfigError(`the chat template does not parse: ${(error as Error).message}`, [], { cause: error });
    }
  }

  render(messages: ChatMessage[], addGenerationPrompt: boolean): string {
    return this.template.render({
      messages,
      add_generation_prompt: addGenerationPrompt,
      bos_token: this.tokens.bos_token ?? "",
      eos_token: this.tokens.eos_token ?? "",
    });
  }

  /** The text a model sees before answering the last user message. */
  prompt(messages: ChatMessage[]): string {
    return this.render(messages, true);
  }

  /**
   * Splits a conversation ending with an assistant turn into {prompt, completion}: the completion is
   * what the full rendering adds after the generation prompt (the answer and its end-of-turn token).
   */
  split(messages: ChatMessage[]): { prompt: string; completion: string } {
    const last = messages.at(-1);
    if (!last || last.role !== "assistant") throw new ConfigError("a training conversation must end with an assistant message");
    const prompt = this.render(messages.slice(0, -1), true);
    const full = this.render(messages, false);
    if (!full.startsWith(prompt)) {
      throw new ConfigError("the chat template renders the conversation differently with and without the generation prompt", [], {
        hint: "set data.template to a template whose generation prompt is a prefix of the assistant turn",
      });
    }
    return { prompt, completion: full.slice(prompt.length) };
  }
}

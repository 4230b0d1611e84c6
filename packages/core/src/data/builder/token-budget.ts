// Token counts from the target model's own tokenizer (through the engine, in batches) and the
// truncation policy: an example over max_tokens has its review text shortened at a word boundary
// (the question and the answer are never cut); one that still does not fit is rejected as too_long.
import type { ExampleMessage, TrainConfig } from "@reviewtune/contracts";
import type { EngineClient } from "../../engine/client.js";
import type { ChatTemplate } from "../../templates/chat-template.js";

export interface ChatExample {
  messages: ExampleMessage[];
}

export interface Measured<E extends ChatExample> {
  example: E;
  promptTokens: number;
  completionTokens: number;
  truncated: boolean;
  /** Set when the example cannot fit even with its review shortened. */
  tooLong?: string;
}

function lastUserIndex(example: ChatExample): number {
  for (let index = example.messages.length - 1; index >= 0; index--) if (example.messages[index]!.role === "user") return index;
  return -1;
}

const REVIEW_QUOTE = /(Review: ")([\s\S]*)("\s*)$/;

/** Shortens the quoted review in the last user message to about `keep` of its characters. */
export function shortenReview<E extends ChatExample>(example: E, keep: number): E | undefined {
  const index = lastUserIndex(example);
  const user = example.messages[index];
  const match = user ? REVIEW_QUOTE.exec(user.content) : null;
  if (!user || !match) return undefined;
  const body = match[2]!;
  const cut = body.slice(0, Math.max(0, Math.floor(keep))).replace(/\s+\S*$/, "");
  if (cut.length === 0 || cut.length >= body.length) return undefined;
  const messages = example.messages.map((message, position) =>
    position === index ? { ...message, content: user.content.slice(0, match.index) + `${match[1]}${cut} …${match[3]}` } : message,
  );
  return { ...example, messages };
}

export class TokenBudget {
  constructor(
    private readonly engine: EngineClient,
    private readonly model: TrainConfig["model"],
    private readonly template: ChatTemplate,
    readonly maxTokens: number,
  ) {}

  private async counts(texts: string[]): Promise<number[]> {
    const counts: number[] = [];
    for (let start = 0; start < texts.length; start += 2048) {
      const result = await this.engine.request("count_tokens", { model: this.model, texts: texts.slice(start, start + 2048) });
      counts.push(...result.counts);
    }
    return counts;
  }

  private async measureRaw<E extends ChatExample>(examples: E[]): Promise<Array<{ prompt: number; completion: number }>> {
    const parts = examples.map((example) => this.template.split(example.messages));
    const counts = await this.counts(parts.flatMap((part) => [part.prompt, part.completion]));
    return examples.map((_, index) => ({ prompt: counts[2 * index]!, completion: counts[2 * index + 1]! }));
  }

  async measure<E extends ChatExample>(examples: E[]): Promise<Array<Measured<E>>> {
    const first = await this.measureRaw(examples);
    const results: Array<Measured<E>> = examples.map((example, index) => ({
      example,
      promptTokens: first[index]!.prompt,
      completionTokens: first[index]!.completion,
      truncated: false,
    }));
    const over = results.filter((result) => result.promptTokens + result.completionTokens > this.maxTokens);
    if (over.length === 0) return results;
    // One shortening pass, sized from each example's own characters-per-token, then a re-count.
    const retries: Array<{ result: Measured<E>; shortened: E }> = [];
    for (const result of over) {
      const user = result.example.messages[lastUserIndex(result.example)]?.content ?? "";
      const excess = result.promptTokens + result.completionTokens - this.maxTokens;
      const charsPerToken = user.length / Math.max(result.promptTokens, 1);
      const body = REVIEW_QUOTE.exec(user)?.[2] ?? "";
      const shortened = shortenReview(result.example, body.length - (excess + 16) * charsPerToken * 1.1);
      if (shortened) retries.push({ result, shortened });
      else result.tooLong = `${result.promptTokens + result.completionTokens} tokens, over max_tokens ${this.maxTokens}, and no review text to shorten`;
    }
    const second = retries.length > 0 ? await this.measureRaw(retries.map((retry) => retry.shortened)) : [];
    retries.forEach(({ result, shortened }, index) => {
      const { prompt, completion } = second[index]!;
      if (prompt + completion <= this.maxTokens) {
        Object.assign(result, { example: shortened, promptTokens: prompt, completionTokens: completion, truncated: true });
      } else {
        result.tooLong = `${prompt + completion} tokens after shortening the review, over max_tokens ${this.maxTokens}`;
      }
    });
    return results;
  }
}

// Labels from an LLM teacher: any OpenAI-compatible chat endpoint (reviewtune's own `serve`, a local
// llama.cpp or vLLM server, a hosted API) reads each review and answers with its labels as JSON.
// The teacher is advisory: every field it gets right replaces the rule-based analyzer's label and is
// marked source "teacher"; a field it omits or gets wrong keeps the analyzer's label (and source),
// and a star rating in the data, like annotated features (SemEval aspect terms), always wins over both. Unusable answers are counted, never fatal;
// an endpoint that cannot be reached at all is.
import OpenAI from "openai";
import { z } from "zod";
import { ConfigError } from "../../errors.js";
import type { Review } from "../sources/reviews.js";
import type { ReviewLabels } from "./analyzer.js";

export interface TeacherOptions {
  /** Base URL of the OpenAI-compatible API, e.g. http://127.0.0.1:8000/v1. */
  url: string;
  /** The model to ask; by default the first one the endpoint lists under /models. */
  model?: string | undefined;
  apiKey?: string | undefined;
  /** Requests in flight at once. */
  concurrency?: number;
  /** Per request, in milliseconds. */
  timeoutMs?: number;
  maxTokens?: number;
}

export const TEACHER_SYSTEM_PROMPT = [
  "You label product reviews. Answer with one JSON object and nothing else, with these keys:",
  '"sentiment": "positive" | "neutral" | "negative";',
  '"score": a number from -1 (very negative) to 1 (very positive);',
  '"stars": the 1-5 star rating the text implies;',
  '"features": product features or aspects the review mentions, short lowercase noun phrases;',
  '"praised": the features it praises; "criticized": the features it criticizes;',
  '"quality": "good" | "mixed" | "poor", what it says about build quality;',
  '"quality_evidence": the sentence that says it, or null;',
  '"recommendation": "yes" | "mixed" | "no", whether the reviewer would recommend buying it;',
  '"reason": one short sentence why;',
  '"summary": a one-sentence summary of the review.',
].join("\n");

/** Tolerant: every key optional, each checked on its own, so one bad field costs only that field. */
const TeacherAnswerSchema = z.object({
  sentiment: z.enum(["positive", "neutral", "negative"]).optional().catch(undefined),
  score: z.number().min(-1).max(1).optional().catch(undefined),
  stars: z.number().int().min(1).max(5).optional().catch(undefined),
  features: z.array(z.string().min(1)).optional().catch(undefined),
  praised: z.array(z.string().min(1)).optional().catch(undefined),
  criticized: z.array(z.string().min(1)).optional().catch(undefined),
  quality: z.enum(["good", "mixed", "poor"]).optional().catch(undefined),
  quality_evidence: z.string().min(1).nullable().optional().catch(undefined),
  recommendation: z.enum(["yes", "mixed", "no"]).optional().catch(undefined),
  reason: z.string().min(1).optional().catch(undefined),
  summary: z.string().min(1).optional().catch(undefined),
});
export type TeacherAnswer = z.infer<typeof TeacherAnswerSchema>;

/** The first JSON object in a model's answer (code fences and chatter around it are common). */
export function parseTeacherAnswer(text: string): TeacherAnswer | undefined {
  const start = text.indexOf("{");
  if (start < 0) return undefined;
  // Try each closing brace from the last backwards: the longest object that parses wins.
  for (let end = text.lastIndexOf("}"); end > start; end = text.lastIndexOf("}", end - 1)) {
    let value: unknown;
    try {
      value = JSON.parse(text.slice(start, end + 1));
    } catch {
      continue;
    }
    const parsed = TeacherAnswerSchema.safeParse(value);
    if (!parsed.success) return undefined;
    const answer = Object.fromEntries(Object.entries(parsed.data).filter(([, field]) => field !== undefined)) as TeacherAnswer;
    return Object.keys(answer).length > 0 ? answer : undefined;
  }
  return undefined;
}

const normalizeFeature = (feature: string) => feature.trim().toLowerCase().replace(/\s+/g, " ");

/** The analyzer's labels with every usable teacher field laid over them. Ratings from the data stay. */
export function mergeTeacherLabels(base: ReviewLabels, answer: TeacherAnswer): ReviewLabels {
  const labels = structuredClone(base);
  const fromRating = base.sentiment.source === "rating";
  if (!fromRating && answer.sentiment) {
    labels.sentiment = { label: answer.sentiment, score: Math.round((answer.score ?? labels.sentiment.score) * 10) / 10, source: "teacher" };
  }
  if (!fromRating && answer.stars) labels.rating = { stars: answer.stars, source: "teacher" };
  // Annotated features are gold: a teacher's guess does not replace them.
  if (answer.features && base.features.source !== "annotation") {
    const items = [...new Set(answer.features.map(normalizeFeature))];
    const within = (list: string[] | undefined) => [...new Set((list ?? []).map(normalizeFeature))].filter((item) => items.includes(item));
    labels.features = { items, praised: within(answer.praised), criticized: within(answer.criticized), source: "teacher" };
  }
  if (answer.quality) labels.quality = { label: answer.quality, evidence: answer.quality_evidence ?? null, source: "teacher" };
  if (answer.recommendation && answer.reason) labels.recommendation = { label: answer.recommendation, reason: answer.reason, source: "teacher" };
  if (answer.summary) labels.summary = { text: answer.summary, source: "teacher" };
  return labels;
}

export interface TeacherStats {
  asked: number;
  /** Answers with at least one usable field. */
  used: number;
  /** Answers with none (no JSON, wrong shape): the analyzer's labels were kept. */
  unusable: number;
  /** Requests that failed after the client's retries (timeouts, 5xx): the analyzer's labels were kept. */
  failed: number;
}

export class Teacher {
  readonly stats: TeacherStats = { asked: 0, used: 0, unusable: 0, failed: 0 };
  readonly concurrency: number;
  private readonly client: OpenAI;
  /** The model asked: the one named, or after connect() the endpoint's first. */
  model: string | undefined;

  constructor(readonly options: TeacherOptions) {
    this.client = new OpenAI({
      baseURL: options.url,
      apiKey: options.apiKey ?? "not-needed",
      timeout: options.timeoutMs ?? 120_000,
      maxRetries: 2,
    });
    this.model = options.model;
    this.concurrency = options.concurrency ?? 4;
  }

  /** Checks the endpoint answers and picks the model, before any review is read. */
  async connect(): Promise<string> {
    try {
      const models = await this.client.models.list();
      const ids = models.data.map((model) => model.id);
      if (this.model && ids.length > 0 && !ids.includes(this.model)) {
        throw new ConfigError(`--teacher-model: the teacher at ${this.options.url} has no model "${this.model}"`, [], { hint: `it lists: ${ids.join(", ")}` });
      }
      this.model ??= ids[0];
      if (!this.model) throw new ConfigError(`the teacher at ${this.options.url} lists no models`, [], { hint: "name one with --teacher-model" });
      return this.model;
    } catch (error) {
      if (ConfigError.isInstance(error)) throw error;
      throw new ConfigError(`--teacher: cannot reach ${this.options.url}: ${(error as Error).message}`, [], {
        hint: "give the base URL of an OpenAI-compatible API (e.g. http://127.0.0.1:8000/v1 from `reviewtune serve`), and --teacher-key if it needs one",
      });
    }
  }

  async label(review: Review, base: ReviewLabels): Promise<ReviewLabels> {
    this.stats.asked += 1;
    const product = [review.category ? `Category: ${review.category}` : "", review.product_title ? `Product: ${review.product_title}` : ""].filter(Boolean).join("\n");
    let text: string;
    try {
      const completion = await this.client.chat.completions.create({
        model: this.model ?? (await this.connect()),
        temperature: 0,
        max_tokens: this.options.maxTokens ?? 400,
        messages: [
          { role: "system", content: TEACHER_SYSTEM_PROMPT },
          { role: "user", content: `${product ? `${product}\n` : ""}${review.title ? `Title: ${review.title}\n` : ""}Review: ${review.text}` },
        ],
      });
      text = completion.choices[0]?.message.content ?? "";
    } catch {
      this.stats.failed += 1;
      return base;
    }
    const answer = parseTeacherAnswer(text);
    if (!answer) {
      this.stats.unusable += 1;
      return base;
    }
    this.stats.used += 1;
    return mergeTeacherLabels(base, answer);
  }
}

/**
 * Maps items through an async function with at most `limit` in flight, yielding results in input
 * order: a streaming build stays streaming (memory bounded by the window) while the teacher works in parallel.
 */
export async function* orderedMap<T, R>(items: AsyncIterable<T>, limit: number, map: (item: T) => Promise<R> | R): AsyncGenerator<R> {
  const window: Array<Promise<R>> = [];
  for await (const item of items) {
    const result = Promise.resolve(map(item));
    result.catch(() => undefined); // rethrown when its turn comes; not an unhandled rejection before that
    window.push(result);
    if (window.length >= limit) yield await window.shift()!;
  }
  while (window.length > 0) yield await window.shift()!;
}

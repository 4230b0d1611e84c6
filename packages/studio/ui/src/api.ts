// The studio API from the browser: typed by the contracts' studio-api.ts, errors carrying the
// server's hint (what to do next), and two readers of server-sent events (run progress, chat tokens).
import type { AnalysisList, AnalyzeReview, ChatServedBy, ReviewAnalysis, StudioError } from "@reviewtune/contracts";

export class StudioRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly hint: string | null,
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
  }
}

async function failure(response: Response): Promise<StudioRequestError> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as StudioError | { error: { message: string; code: string } };
    const hint = "hint" in body.error ? (body.error.hint ?? null) : null;
    const fields = "fields" in body.error ? (body.error.fields ?? {}) : {};
    return new StudioRequestError(body.error.message, response.status, body.error.code, hint, fields);
  } catch {
    return new StudioRequestError(`the studio answered ${response.status}: ${text.slice(0, 200)}`, response.status, "http_error", "is `reviewtune studio` still running? Reload the page");
  }
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`/studio/api${path}`, { method, headers: body === undefined ? {} : { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new StudioRequestError("the studio server cannot be reached", 0, "unreachable", "start it again with `reviewtune studio`, then reload this page");
  }
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

export const get = <T>(path: string) => call<T>("GET", path);
export const post = <T>(path: string, body: unknown = {}) => call<T>("POST", path, body);

export function query(values: Record<string, string | number | undefined | null>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : "";
}

export interface StreamedAnswer {
  text: string;
  firstTokenMs: number | null;
  totalMs: number | null;
  servedBy: ChatServedBy | null;
  /** The x-reviewtune-fallback header: the base model answered for an adapter that cannot be used. */
  fallbackCode: string | null;
  error: StudioRequestError | null;
}

/** POST /v1/chat/completions with stream and references; calls `update` as tokens arrive. */
export async function streamChat(model: string, prompt: string, maxTokens: number, update: (answer: StreamedAnswer) => void, signal?: AbortSignal): Promise<StreamedAnswer> {
  const started = performance.now();
  const answer: StreamedAnswer = { text: "", firstTokenMs: null, totalMs: null, servedBy: null, fallbackCode: null, error: null };
  try {
    const response = await fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: prompt }], stream: true, references: true, max_tokens: maxTokens, temperature: 0 }),
      signal,
    });
    if (!response.ok || !response.body) throw await failure(response);
    answer.fallbackCode = response.headers.get("x-reviewtune-fallback");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let boundary: number;
      while ((boundary = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        const data = block.split("\n").filter((line) => line.startsWith("data: ")).map((line) => line.slice(6)).join("\n");
        if (!data || data === "[DONE]") continue;
        const chunk = JSON.parse(data) as { error?: { message: string; code: string }; reviewtune?: ChatServedBy; choices?: Array<{ delta?: { content?: string } }> };
        if (chunk.error) throw new StudioRequestError(chunk.error.message, 500, chunk.error.code, "try again; if it repeats, see the terminal running the studio");
        if (chunk.reviewtune) answer.servedBy = chunk.reviewtune;
        const text = chunk.choices?.[0]?.delta?.content ?? "";
        if (text) {
          answer.firstTokenMs ??= performance.now() - started;
          answer.text += text;
        }
        update({ ...answer });
      }
    }
    answer.totalMs = performance.now() - started;
  } catch (error) {
    answer.error = error instanceof StudioRequestError ? error : new StudioRequestError((error as Error).message, 0, "stream_failed", "try again");
  }
  update({ ...answer });
  return answer;
}

export interface AnalyzedReview {
  analysis: ReviewAnalysis | null;
  /** Why there is no analysis: the request failed, or (should not happen: decoding is constrained) the answer did not parse. */
  error: StudioRequestError | null;
  ms: number;
  /** Set when the base model answered for an adapter that cannot be used. */
  fallback: string | null;
}

/** POST /v1/analyze for one review: the model's structured analysis (ReviewAnalysis), timed. */
export async function analyzeOne(model: string, review: AnalyzeReview): Promise<AnalyzedReview> {
  const started = performance.now();
  try {
    const response = await fetch("/v1/analyze", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model, reviews: [review] }) });
    if (!response.ok) throw await failure(response);
    const list = (await response.json()) as AnalysisList;
    const entry = list.data[0];
    const ms = performance.now() - started;
    const fallback = list.reviewtune.fallback?.message ?? null;
    if (!entry?.analysis) return { analysis: null, error: new StudioRequestError(entry?.error ?? "no analysis came back", 200, "unparseable", "report this: constrained decoding should always give an analysis"), ms, fallback };
    return { analysis: entry.analysis, error: null, ms, fallback };
  } catch (error) {
    const failed = error instanceof StudioRequestError ? error : new StudioRequestError((error as Error).message, 0, "analyze_failed", "try again");
    return { analysis: null, error: failed, ms: performance.now() - started, fallback: null };
  }
}

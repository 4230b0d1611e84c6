// `reviewtune bench serve`: a bounded load test of running OpenAI-compatible servers on this machine.
// Review-length chat prompts (the demo reviews' held-out phrasings), or with --analysis one review per
// POST /v1/analyze, from `concurrency` workers, a fixed request count and a time limit; latency
// percentiles, queries/min, tokens/s, errors, and the cost per 1,000 queries from the measured time.
// Several --url in one run compare backends.
import { spawn, type ChildProcess } from "node:child_process";
import { ReviewAnalysisSchema, type AnalyzeReview } from "@reviewtune/contracts";
import { ConfigError } from "../errors.js";
import { reviewExamples } from "../data/augment/augment.js";
import { demoEntry, makeDemoReviews } from "../data/demo-reviews.js";

export interface ServeBenchTarget {
  label: string;
  url: string;
}

export interface ServeBenchOptions {
  targets: ServeBenchTarget[];
  /** The model to ask for; default: the first loaded adapter, else the base. */
  model?: string | undefined;
  concurrency: number;
  requests: number;
  maxTokens: number;
  timeLimitSeconds: number;
  apiKey?: string | undefined;
  /** What the machine costs per hour, for the cost per 1,000 queries. */
  dollarsPerHour: number;
  /**
   * Ask for the one-pass analysis instead of chat questions: one review per POST /v1/analyze (decoding
   * constrained to the analysis schema, the stars and sentiment by their median, the keys fed in
   * batches: what `analyze` and the studio get); an answer counts as complete when it is an analysis.
   */
  analysis?: boolean;
  /**
   * Busy-loop processes (one core each) kept running while each target is measured, after its
   * warm-up: how the server holds up on a CPU it shares (a training beside it, other tenants).
   */
  busy?: number;
  log?: (line: string) => void;
}

export interface ServeBenchResult {
  label: string;
  model: string;
  sent: number;
  completed: number;
  errors: number;
  errorSamples: string[];
  fallbacks: number;
  /** With `analysis`: answers that parse as a ReviewAnalysis. */
  complete: number | null;
  wallSeconds: number;
  latency: { p50: number; p95: number; p99: number; mean: number };
  queriesPerMinute: number;
  tokensPerSecond: number;
  meanCompletionTokens: number;
  costPer1000: number;
  /** Busy-loop processes that ran beside the server during the measurement. */
  busy: number;
  /**
   * The server's peak resident memory after the measurement, from its /metrics
   * (reviewtune_peak_resident_memory_bytes): its own process, and the engine's where the backend has
   * one. null: the server does not publish it (another engine, an older reviewtune).
   */
  peakMemoryBytes: { server: number; engine?: number } | null;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

export function parseBenchTarget(value: string): ServeBenchTarget {
  const equals = value.indexOf("=");
  const [label, url] = equals > 0 && !value.slice(0, equals).includes(":") ? [value.slice(0, equals), value.slice(equals + 1)] : [undefined, value];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`--url ${value} is not a URL`, [], { hint: "for example --url torch=http://127.0.0.1:8000" });
  }
  // A load generator pointed at someone else's server is an attack, not a benchmark.
  if (!LOOPBACK.test(parsed.hostname)) throw new ConfigError(`--url ${url}: bench serve only targets this machine (127.0.0.1, localhost, ::1)`);
  return { label: label ?? parsed.host, url: parsed.origin };
}

/**
 * Starts `count` processes that each spin one core until stopped: the CPU a server shares with a
 * training, reproducible without one. stop() ends them and resolves once they are gone.
 */
export function startBusyLoops(count: number): { pids: number[]; stop: () => Promise<void> } {
  const loops: ChildProcess[] = Array.from({ length: count }, () => spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" }));
  return {
    pids: loops.map((loop) => loop.pid!).filter(Boolean),
    async stop() {
      await Promise.all(
        loops.map((loop) => {
          if (loop.exitCode !== null || loop.signalCode !== null) return Promise.resolve();
          const exited = new Promise<void>((resolve) => loop.once("exit", () => resolve()));
          loop.kill("SIGKILL");
          return exited;
        }),
      );
    },
  };
}

/** The same bench reviews as POST /v1/analyze takes them. */
export function benchAnalysisReviews(count: number): AnalyzeReview[] {
  return makeDemoReviews(count, 9_001).map((demo) => {
    const { text, title, product_title, category } = demoEntry(demo).review;
    return { text, ...(title ? { title } : {}), ...(product_title ? { product_title } : {}), ...(category ? { category } : {}) };
  });
}

/** Review-length chat prompts, distinct from the demo training data (another seed, held-out phrasing). */
export function benchPrompts(count: number): string[] {
  return makeDemoReviews(Math.ceil(count / 5), 9_001)
    .flatMap((demo) => {
      const { review, labels } = demoEntry(demo);
      return reviewExamples(review, labels, { heldOutPhrasings: true });
    })
    .slice(0, count)
    .map((example) => example.messages[0]!.content);
}

export function nearestRankPercentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[index]!;
}

async function pickModel(target: ServeBenchTarget, headers: Record<string, string>, wanted: string | undefined): Promise<string> {
  // Nothing listening there is said with the URL (fetch's own message is "fetch failed").
  const response = await fetch(`${target.url}/v1/models`, { headers }).catch((error: Error) => {
    const cause = (error.cause as { code?: string; message?: string } | undefined) ?? {};
    throw new ConfigError(`${target.url} did not answer (${cause.code ?? cause.message ?? error.message})`, [], { hint: `start the server first (reviewtune serve ... --port <its port>), or correct --url ${target.label}=<url>` });
  });
  if (!response.ok) throw new ConfigError(`${target.url}/v1/models answered ${response.status}`, [], { hint: "is `reviewtune serve` running there (and the API key right)?" });
  const list = (await response.json()) as { data: Array<{ id: string; reviewtune?: { kind: string; status: string } }> };
  if (wanted) return wanted;
  const adapter = list.data.find((model) => model.reviewtune?.kind === "adapter" && model.reviewtune.status === "loaded");
  return (adapter ?? list.data.find((model) => model.reviewtune?.kind !== "embedding") ?? list.data[0]!).id;
}

export async function benchServe(options: ServeBenchOptions): Promise<ServeBenchResult[]> {
  const headers: Record<string, string> = { "content-type": "application/json", ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}) };
  const count = Math.min(options.requests, 500);
  const prompts: Array<string | AnalyzeReview> = options.analysis ? benchAnalysisReviews(count) : benchPrompts(count);
  const results: ServeBenchResult[] = [];
  for (const target of options.targets) {
    const model = await pickModel(target, headers, options.model);
    const ask = async (prompt: string | AnalyzeReview) => {
      const analysis = typeof prompt !== "string";
      const response = await fetch(`${target.url}${analysis ? "/v1/analyze" : "/v1/chat/completions"}`, {
        method: "POST",
        headers,
        body: JSON.stringify(analysis ? { model, reviews: [prompt] } : { model, messages: [{ role: "user", content: prompt }], max_tokens: options.maxTokens, temperature: 0 }),
      });
      const body = (await response.json()) as {
        choices?: Array<{ message?: { content?: string } }>;
        data?: Array<{ analysis: unknown }>;
        usage?: { completion_tokens: number };
        error?: { message: string };
        reviewtune?: { fallback: unknown };
      };
      if (!response.ok) throw new Error(`${response.status} ${body.error?.message ?? ""}`.trim());
      const complete = analysis && body.data?.length === 1 && ReviewAnalysisSchema.safeParse(body.data[0]!.analysis).success;
      return { tokens: body.usage?.completion_tokens ?? 0, fallback: Boolean(body.reviewtune?.fallback), complete };
    };
    options.log?.(`bench serve: ${target.label} (${target.url}, model ${model}): warm-up, then ${options.requests} requests x ${options.concurrency} concurrent, ${options.maxTokens} tokens max`);
    await ask(prompts[0]!); // first-request costs (lazy loads, caches) are not what a user waits for later
    const busy = startBusyLoops(options.busy ?? 0);
    if (busy.pids.length) options.log?.(`bench serve: ${busy.pids.length} busy-loop processes running beside the server (pids ${busy.pids.join(", ")})`);
    const latencies: number[] = [];
    const errorSamples: string[] = [];
    let sent = 0;
    let errors = 0;
    let tokens = 0;
    let fallbacks = 0;
    let complete = 0;
    const started = performance.now();
    const deadline = started + options.timeLimitSeconds * 1000;
    const worker = async () => {
      while (sent < options.requests && performance.now() < deadline) {
        const prompt = prompts[sent % prompts.length]!;
        sent += 1;
        const begin = performance.now();
        try {
          const answer = await ask(prompt);
          latencies.push((performance.now() - begin) / 1000);
          tokens += answer.tokens;
          if (answer.fallback) fallbacks += 1;
          if (answer.complete) complete += 1;
        } catch (error) {
          errors += 1;
          if (errorSamples.length < 3) errorSamples.push((error as Error).message);
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: options.concurrency }, worker));
    } finally {
      await busy.stop();
    }
    const wallSeconds = (performance.now() - started) / 1000;
    const sorted = [...latencies].sort((a, b) => a - b);
    const completed = latencies.length;
    results.push({
      label: target.label,
      model,
      sent,
      completed,
      errors,
      errorSamples,
      fallbacks,
      complete: options.analysis ? complete : null,
      wallSeconds,
      latency: {
        p50: nearestRankPercentile(sorted, 0.5),
        p95: nearestRankPercentile(sorted, 0.95),
        p99: nearestRankPercentile(sorted, 0.99),
        mean: sorted.reduce((sum, value) => sum + value, 0) / Math.max(1, completed),
      },
      queriesPerMinute: (completed / wallSeconds) * 60,
      tokensPerSecond: tokens / wallSeconds,
      meanCompletionTokens: tokens / Math.max(1, completed),
      costPer1000: completed > 0 ? ((options.dollarsPerHour * wallSeconds) / 3600 / completed) * 1000 : Number.NaN,
      busy: busy.pids.length,
      peakMemoryBytes: await peakMemory(target, headers),
    });
    options.log?.(`bench serve: ${target.label}: ${completed} answered, ${errors} errors in ${wallSeconds.toFixed(1)} s`);
  }
  return results;
}

/** The server's peak resident memory as its /metrics publishes it (see ServeBenchResult.peakMemoryBytes). */
async function peakMemory(target: ServeBenchTarget, headers: Record<string, string>): Promise<ServeBenchResult["peakMemoryBytes"]> {
  try {
    const response = await fetch(`${target.url}/metrics`, { headers });
    if (!response.ok) return null;
    const text = await response.text();
    const value = (process: string) => {
      const match = new RegExp(`^reviewtune_peak_resident_memory_bytes\\{process="${process}"\\} (\\d+)`, "m").exec(text);
      return match ? Number(match[1]) : undefined;
    };
    const server = value("server");
    if (server === undefined) return null;
    const engine = value("engine");
    return { server, ...(engine !== undefined ? { engine } : {}) };
  } catch {
    return null;
  }
}

export function formatServeBench(results: ServeBenchResult[], dollarsPerHour: number): string {
  const seconds = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : "-");
  const lines = [
    `| backend | model | answered | errors | p50 s | p95 s | p99 s | queries/min | tokens/s | tokens/answer | $ per 1,000 queries |`,
    `|---|---|---|---|---|---|---|---|---|---|---|`,
    ...results.map(
      (result) =>
        `| ${result.label} | ${result.model} | ${result.completed}/${result.sent} | ${result.errors} | ${seconds(result.latency.p50)} | ${seconds(result.latency.p95)} | ${seconds(result.latency.p99)} | ${result.queriesPerMinute.toFixed(1)} | ${result.tokensPerSecond.toFixed(1)} | ${result.meanCompletionTokens.toFixed(1)} | ${Number.isFinite(result.costPer1000) ? result.costPer1000.toFixed(4) : "-"} |`,
    ),
    "",
    `cost: this machine at $${dollarsPerHour}/hour (--dollars-per-hour) x measured wall time / answered queries`,
  ];
  for (const result of results) {
    if (result.busy > 0) lines.push(`${result.label}: measured beside ${result.busy} busy-loop process${result.busy > 1 ? "es" : ""} (--busy)`);
    if (result.complete !== null) lines.push(`${result.label}: ${result.complete}/${result.completed} answers are complete analyses (parse as a ReviewAnalysis): ${((result.complete / result.wallSeconds) * 60).toFixed(1)} analyses/min`);
    if (result.peakMemoryBytes) {
      const { server, engine } = result.peakMemoryBytes;
      const mb = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(0)} MB`;
      lines.push(`${result.label}: peak resident memory ${mb(server)} (server process${engine !== undefined ? `) + ${mb(engine)} (engine process) = ${mb(server + engine)}` : ")"}`);
    }
    if (result.fallbacks > 0) lines.push(`${result.label}: ${result.fallbacks} answers were base-model fallbacks (the adapter did not load)`);
    for (const sample of result.errorSamples) lines.push(`${result.label} error: ${sample}`);
  }
  // Every other target against the first (the reference: list the baseline first), in queries and in tokens.
  const reference = results[0];
  for (const result of results.slice(1)) {
    if (!reference || reference.queriesPerMinute <= 0 || reference.tokensPerSecond <= 0) break;
    lines.push(
      `${result.label} vs ${reference.label}: ${(result.queriesPerMinute / reference.queriesPerMinute).toFixed(2)}x the queries/min, ${(result.tokensPerSecond / reference.tokensPerSecond).toFixed(2)}x the tokens/s`,
    );
  }
  return lines.join("\n");
}

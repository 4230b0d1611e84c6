// `reviewtune analyze`: the structured analysis of every review in a user's file, one JSONL line per
// review in input order, through the one model interface (llama.cpp or the torch engine), decoding
// constrained to the analysis schema. Bad rows are reported (stderr and <stem>.rejected.jsonl) and
// never stop the run.
//
// Resuming: lines go to <out>.partial, next to a state file <out>.partial.json that names what they
// were made from (the input's SHA-256, the run, the model, the column mapping). A rerun of the same
// command continues after the last complete line (a half-written one is dropped and redone); a
// different input or run is refused. Only a finished run renames <out>.partial to <out>, so <out>
// existing means complete.
import { createHash } from "node:crypto";
import { closeSync, createReadStream, existsSync, fsyncSync, mkdirSync, openSync, readSync, renameSync, rmSync, truncateSync, writeFileSync, writeSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import {
  CancelledError,
  ConfigError,
  ReviewValidator,
  ANALYSIS_MAX_TOKENS,
  analysisPrompt,
  analyzeWithBackend,
  readRecords,
  resolveColumns,
  UpstreamError,
  type GenerationBackend,
  type KvCacheType,
  type Rejection,
  type Review,
} from "@reviewtune/core";
import { tryParseJson, type ReviewAnalysis } from "@reviewtune/contracts";
import { modelFromOptions } from "../lib/model-choice.js";
import { onInterrupt, openModel, upstreamBackend } from "../engine.js";
import { itemProgress } from "../progress.js";
import { printable } from "../printable.js";

export interface AnalyzeOptions {
  input: string;
  out: string;
  run?: string;
  model?: string;
  backend: string;
  quant?: string;
  kvCache?: KvCacheType;
  batchSize: number;
  column: Record<string, string>;
  maxChars: number;
  force?: boolean;
  verbose?: boolean;
  upstream?: string;
  upstreamKey?: string;
  upstreamModel?: string;
  concurrency?: number;
}

/** Tokens of context per sequence on the llama.cpp path: the longest prompt it takes is this minus the answer's budget. */
const LLAMACPP_CONTEXT = 2048;

const StateSchema = z.object({
  version: z.literal(1),
  input: z.string(),
  input_sha256: z.string(),
  run: z.string().nullable(),
  model: z.string(),
  columns: z.record(z.string(), z.string()),
  max_chars: z.number(),
});
type AnalyzeState = z.infer<typeof StateSchema>;

/** The files of one analysis: the finished output, its partial form and state, the rejected rows. */
export function analyzeFiles(out: string) {
  return { out, partial: `${out}.partial`, state: `${out}.partial.json`, rejected: `${out.replace(/\.jsonl$/i, "")}.rejected.jsonl` };
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * Where a partial output stops: its complete lines (a half-written last line is cut off here) and the
 * input line of the last one, to check the resumed reading lands on the same review.
 */
function resumePoint(partial: string): { lines: number; lastInputLine: number | undefined; dropped: number } {
  const fd = openSync(partial, "r");
  let lines = 0;
  let end = 0; // the byte after the last newline
  let previous = 0; // where the last complete line starts
  let position = 0;
  const buffer = Buffer.alloc(1 << 16);
  try {
    for (let read = readSync(fd, buffer, 0, buffer.length, position); read > 0; read = readSync(fd, buffer, 0, buffer.length, position)) {
      for (let index = 0; index < read; index += 1) {
        if (buffer[index] !== 0x0a) continue;
        lines += 1;
        previous = end;
        end = position + index + 1;
      }
      position += read;
    }
    let lastInputLine: number | undefined;
    if (lines > 0) {
      const last = Buffer.alloc(end - previous);
      readSync(fd, last, 0, last.length, previous);
      lastInputLine = tryParseJson(last.toString("utf8"), z.object({ line: z.number().int() }))?.line;
      if (lastInputLine === undefined) throw new ConfigError(`${partial}: its last complete line is not an analysis line`, [], { hint: "the partial output was changed by hand; pass --force to start over" });
    }
    return { lines, lastInputLine, dropped: position - end };
  } finally {
    closeSync(fd);
    if (position > end) truncateSync(partial, end);
  }
}

/** Reads the state of an earlier, interrupted run and refuses a different input or run. */
function checkResumable(files: ReturnType<typeof analyzeFiles>, state: AnalyzeState): void {
  if (!existsSync(files.state)) {
    throw new ConfigError(`${files.partial} exists without its state file ${files.state}: what it was made from is unknown`, [], { hint: "pass --force to start over" });
  }
  const before = tryParseJson(readFileSync(files.state, "utf8"), StateSchema);
  if (!before) throw new ConfigError(`${files.state} is not an analyze state file`, [], { hint: "pass --force to start over" });
  const differences = [
    before.input_sha256 !== state.input_sha256 ? `input ${before.input} (SHA-256 ${before.input_sha256.slice(0, 12)}), now ${state.input} (${state.input_sha256.slice(0, 12)})` : undefined,
    before.run !== state.run ? `run ${before.run ?? "none (the base model)"}, now ${state.run ?? "none"}` : undefined,
    before.model !== state.model ? `model ${before.model}, now ${state.model}` : undefined,
    JSON.stringify(before.columns) !== JSON.stringify(state.columns) ? `--column ${JSON.stringify(before.columns)}, now ${JSON.stringify(state.columns)}` : undefined,
    before.max_chars !== state.max_chars ? `--max-chars ${before.max_chars}, now ${state.max_chars}` : undefined,
  ].filter(Boolean);
  if (differences.length) {
    throw new ConfigError(`${files.partial} was made from something else: ${differences.join("; ")}. Continuing would mix two analyses`, [], {
      hint: `rerun with the same --input, --run/--model and options to continue it, pass another --out, or --force to start over`,
    });
  }
}

async function countRecords(input: string): Promise<number> {
  let count = 0;
  for await (const _record of readRecords(input, { skipBadRows: true })) count += 1;
  return count;
}

export async function runAnalyze(options: AnalyzeOptions): Promise<void> {
  const files = analyzeFiles(resolve(options.out));
  const input = resolve(options.input);
  const choice = modelFromOptions({ ...(options.run ? { run: options.run } : { model: options.model }) });
  if (choice.run?.config.task === "classify") {
    throw new ConfigError(`${options.run} is a classification run: it labels, it does not write analyses`, [], { hint: "use `reviewtune classify --run`, or analyze with a generative run" });
  }
  if (options.force) for (const file of [files.out, files.partial, files.state]) rmSync(file, { force: true });
  if (existsSync(files.out)) throw new ConfigError(`${files.out} already exists (a complete analysis)`, [], { hint: "pass --force to redo it, or choose another --out" });

  const total = await countRecords(input); // also checks the file exists and is a review format
  const state: AnalyzeState = {
    version: 1,
    input,
    input_sha256: await sha256Of(input),
    run: choice.run?.id ?? null,
    model: choice.model.source,
    columns: options.column,
    max_chars: options.maxChars,
  };
  let resume = { lines: 0, lastInputLine: undefined as number | undefined, dropped: 0 };
  if (existsSync(files.partial)) {
    checkResumable(files, state);
    resume = resumePoint(files.partial);
    console.error(`continuing ${files.partial}: ${resume.lines} review(s) already analyzed${resume.dropped ? ` (a half-written last line of ${resume.dropped} bytes dropped, redone now)` : ""}`);
  } else {
    mkdirSync(dirname(files.out), { recursive: true });
    writeFileSync(files.state, `${JSON.stringify(state, null, 2)}\n`);
  }

  // llama.cpp when the model has a GGUF (the base's, requantized; an adapter converted), else the torch engine.
  console.error(`starting the model ${choice.model.source}${choice.adapter ? ` + adapter ${choice.adapter}` : ""}...`);
  const { backend, adapterDir } = options.upstream
    ? await openUpstream(choice, options)
    : await openModel(choice, { backend: options.backend, quant: options.quant, verbose: options.verbose, contextPerSequence: LLAMACPP_CONTEXT, kvCache: options.kvCache });
  const batchSize = options.upstream ? Math.max(options.batchSize, options.concurrency ?? 8) : options.batchSize;
  const controller = new AbortController();
  const dispose = onInterrupt(() => controller.abort(), "keeping every finished line; rerun the same command to continue");
  const progress = itemProgress(total, "rows");
  const output = openSync(files.partial, "a");
  let outputOpen = true;
  const rejectedFile = openSync(files.rejected, "w"); // every run reads the input from the start: its rejections are found again
  let rejected = 0;
  let written = resume.lines;
  let unparseable = 0;
  let analyzedNow = 0;
  let seconds = 0;
  try {
    console.error(`answering on the ${backend.name} backend`);
    const validator = new ReviewValidator({ mapping: options.column, maxChars: options.maxChars, duplicates: "keep" });
    let idColumn: string | undefined;
    let columnsKnown = false;
    let accepted = 0;
    let handled = 0;
    let batch: Array<{ review: Review; id: string }> = [];
    const report = (rejection: Rejection) => {
      rejected += 1;
      writeSync(rejectedFile, `${JSON.stringify(rejection)}\n`);
      progress.log(printable(`  rejected ${rejection.file}:${rejection.unit === "item" ? "item " : ""}${rejection.line}: ${rejection.reason} (${rejection.detail})`)); // the detail quotes the file
    };
    const drain = () => {
      for (const rejection of validator.rejections) report(rejection);
      validator.rejections.length = 0;
    };
    const flush = async () => {
      if (batch.length === 0) return;
      const lines = await analyzeBatch(backend, batch, adapterDir, controller.signal);
      if (controller.signal.aborted) return; // a cancelled batch's answers are cut short: not written, redone next time
      // One write per batch: a kill leaves at most one half line, which the next run drops.
      writeSync(output, lines.map((line) => `${JSON.stringify(line)}\n`).join(""));
      unparseable += lines.filter((line) => "error" in line).length;
      written += lines.length;
      analyzedNow += lines.length;
      batch = [];
    };

    const started = performance.now();
    progress.update(0, 0);
    for await (const record of readRecords(input, { skipBadRows: true, onMalformed: (bad) => validator.malformed(bad) })) {
      if (controller.signal.aborted) break;
      handled += 1;
      if (!columnsKnown) {
        idColumn = resolveColumns(Object.keys(record.value), options.column, record.file).id; // as the validator resolves them
        columnsKnown = true;
      }
      const review = validator.accept(record);
      drain();
      if (!review) continue;
      accepted += 1;
      if (accepted <= resume.lines) {
        // Same input and options, so the same reviews come in the same order; this only guards that.
        if (accepted === resume.lines && review.source.line !== resume.lastInputLine) {
          throw new ConfigError(`${files.partial} ends at input line ${resume.lastInputLine}, but review ${accepted} of the input is on line ${review.source.line}`, [], { hint: "pass --force to start over" });
        }
        continue;
      }
      const ownId = idColumn ? String(record.value[idColumn] ?? "").trim() : "";
      batch.push({ review, id: ownId || String(review.source.line) });
      if (batch.length >= batchSize) {
        await flush();
        // A batch cut by Ctrl-C is not written: the rows read are not rows done (it printed 32/60, then kept 24).
        if (controller.signal.aborted) break;
        progress.update(handled, analyzedNow);
      }
    }
    drain(); // rows the reader could not parse after the last good one
    if (!controller.signal.aborted) await flush();
    seconds = (performance.now() - started) / 1000;
    if (controller.signal.aborted) {
      throw new CancelledError(`interrupted: ${written} review(s) analyzed so far, kept in ${files.partial}`, {
        hint: "run the same command again to continue where it stopped",
      });
    }
    if (accepted < resume.lines) throw new ConfigError(`${files.partial} has ${resume.lines} analyses but the input has only ${accepted} reviews`, [], { hint: "pass --force to start over" });
    progress.update(handled, analyzedNow);
    progress.stop();
    fsyncSync(output);
    closeSync(output);
    outputOpen = false;
    renameSync(files.partial, files.out); // complete: only now does --out exist
    rmSync(files.state, { force: true });
    const rate = seconds > 0 ? (analyzedNow / seconds) * 60 : 0;
    console.log(
      `analyzed ${written} review(s) into ${files.out}${resume.lines ? ` (${resume.lines} in an earlier run)` : ""}; ${rejected} row(s) rejected${rejected ? ` (${files.rejected})` : ""}; ` +
        `${analyzedNow} in ${(seconds / 60).toFixed(1)} min: ${rate.toFixed(1)} analyses/min on ${backend.name}${unparseable ? `; ${unparseable} answer(s) were not an analysis (written with "error")` : ""}`,
    );
  } finally {
    progress.stop();
    dispose();
    if (outputOpen) closeSync(output);
    closeSync(rejectedFile);
    if (rejected === 0) rmSync(files.rejected, { force: true });
    await backend.close();
  }
}

type OutputLine = { id: string; line: number; analysis: unknown } | { id: string; line: number; error: string; answer: string };

/**
 * The run's model on an upstream server (`--upstream`): the base under its name there, a run's
 * adapter as the upstream's model named by the run id, which must exist there (a batch job does not
 * fall back to the base as the server does: it stops and says so).
 */
async function openUpstream(choice: ReturnType<typeof modelFromOptions>, options: AnalyzeOptions): Promise<{ backend: GenerationBackend; adapterDir: string | undefined }> {
  const adapterDir = choice.adapter ? resolve(choice.adapter) : undefined;
  const backend = upstreamBackend(choice, {
    upstream: options.upstream!,
    upstreamKey: options.upstreamKey,
    upstreamModel: options.upstreamModel,
    adapterNames: new Map(adapterDir && choice.run ? [[adapterDir, choice.run.id]] : []),
    concurrency: options.concurrency ?? 8,
  });
  await backend.start();
  if (adapterDir) await backend.loadAdapter(adapterDir);
  return { backend, adapterDir };
}

/** One batch through the backend, schema-constrained; a review too long for the context gets an error line, not a crash. */
async function analyzeBatch(backend: GenerationBackend, batch: ReadonlyArray<{ review: Review; id: string }>, adapterDir: string | undefined, signal: AbortSignal): Promise<OutputLine[]> {
  const messages = batch.map(({ review }) => [{ role: "user" as const, content: analysisPrompt(review) }]);
  const context = backend.name === "llamacpp" ? LLAMACPP_CONTEXT : backend.name === "upstream" ? backend.contextLength : undefined;
  const limit = context !== undefined ? context - ANALYSIS_MAX_TOKENS : Number.POSITIVE_INFINITY;
  const tokens = Number.isFinite(limit) ? await backend.countTokens(messages.map((conversation) => backend.renderChat(conversation))) : messages.map(() => 0);
  const fits = batch.map((_, index) => tokens[index]! <= limit);
  const asked = batch.flatMap(({ review }, index) => (fits[index] ? [{ messages: messages[index]!, review }] : []));
  const answer = (items: typeof asked) =>
    analyzeWithBackend(backend, items, { adapterDir, chunk: items.length, signal }).catch((error: unknown) => {
      if (signal.aborted) return undefined; // interrupted before the batch started
      throw error;
    });
  let answered: Pick<NonNullable<Awaited<ReturnType<typeof answer>>>, "analyses" | "answers" | "errors"> | undefined;
  try {
    answered = asked.length ? await answer(asked) : { analyses: [], answers: [], errors: [] };
  } catch (error) {
    // An upstream that refuses one review (its 4xx) must not stop the rest: each is asked alone, and
    // a refused one becomes its error line. Its failures (502: gone, broken) still stop the job.
    if (!(error instanceof UpstreamError) || error.status >= 500) throw error;
    const analyses: Array<ReviewAnalysis | null> = [];
    const answers: string[] = [];
    const errors: Array<string | null> = [];
    for (const item of asked) {
      const one = await answer([item]).catch((refusal: unknown) => {
        if (refusal instanceof UpstreamError && refusal.status < 500) return { analyses: [null], answers: [""], errors: [`the upstream refused it: ${refusal.message}`] };
        throw refusal;
      });
      if (!one) return [];
      analyses.push(one.analyses[0] ?? null);
      answers.push(one.answers[0] ?? "");
      errors.push(one.errors[0] ?? null);
    }
    answered = { analyses, answers, errors };
  }
  if (!answered) return [];
  let next = 0;
  return batch.map(({ review, id }, index) => {
    const line = review.source.line;
    if (!fits[index]) return { id, line, error: `too long for the model's context: ${tokens[index]} prompt tokens, at most ${limit}`, answer: "" };
    const at = next++;
    const analysis = answered.analyses[at];
    return analysis ? { id, line, analysis } : { id, line, error: `the answer is not an analysis: ${answered.errors[at]}`, answer: answered.answers[at] ?? "" };
  });
}

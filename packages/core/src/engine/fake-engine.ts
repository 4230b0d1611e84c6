#!/usr/bin/env node
// A stand-in engine for tests of the Node side: replays a recorded transcript over real stdio.
// For each request it receives, it finds the next recorded request of the same method and sends
// the engine's recorded answers with the live request's id. Failure modes on demand:
//   --exit-on <method>     write to stderr and exit 3 instead of answering (a crash)
//   --hang-on <method>     never answer (a hang)
//   --garbage-on <method>  answer with a line that is not JSON (a protocol break)
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

interface TranscriptLine {
  direction: "to_engine" | "from_engine";
  message: { id?: string | null; method?: string; [key: string]: unknown };
}

export function loadTranscript(file: string): TranscriptLine[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as TranscriptLine);
}

/** Groups a transcript into (request, answers) exchanges, in order. */
export function exchanges(transcript: TranscriptLine[]): Array<{ request: TranscriptLine["message"]; answers: TranscriptLine["message"][] }> {
  const result: Array<{ request: TranscriptLine["message"]; answers: TranscriptLine["message"][] }> = [];
  for (const line of transcript) {
    if (line.direction === "to_engine") result.push({ request: line.message, answers: [] });
    else result.at(-1)?.answers.push(line.message);
  }
  return result;
}

function main(): void {
  const [file, ...flags] = process.argv.slice(2);
  if (!file) throw new Error("usage: fake-engine <transcript.jsonl> [--exit-on m] [--hang-on m] [--garbage-on m]");
  const flag = (name: string) => {
    const index = flags.indexOf(name);
    return index >= 0 ? flags[index + 1] : undefined;
  };
  const transcript = loadTranscript(file);
  const ready = transcript.find((line) => line.direction === "from_engine" && line.message.type === "ready");
  const remaining = exchanges(transcript);
  const send = (message: unknown) => process.stdout.write(`${JSON.stringify(message)}\n`);
  if (ready) send(ready.message);
  createInterface({ input: process.stdin }).on("line", (line) => {
    const request = JSON.parse(line) as { id: string; method: string; params?: unknown };
    if (request.method === "shutdown") {
      send({ type: "result", id: request.id, result: { stopping: true } });
      process.exit(0);
    }
    if (request.method === flag("--exit-on")) {
      process.stderr.write(`[engine] ERROR reviewtune.engine: simulated crash during ${request.method}\n`);
      process.exit(3);
    }
    if (request.method === flag("--hang-on")) return;
    if (request.method === flag("--garbage-on")) {
      process.stdout.write("this is not json\n");
      return;
    }
    // Prefer the recorded request for the same model source (so an error case replays its error).
    const source = (message: { [key: string]: unknown }) => JSON.stringify((message.params as { model?: { source?: unknown } } | undefined)?.model?.source);
    const sameMethod = (exchange: (typeof remaining)[number]) => exchange.request.method === request.method;
    let index = remaining.findIndex((exchange) => sameMethod(exchange) && source(exchange.request) === source(request));
    if (index < 0) index = remaining.findIndex(sameMethod);
    if (index < 0) {
      send({ type: "error", id: request.id, error: { code: "not_recorded", message: `no recorded ${request.method} left` } });
      return;
    }
    const [exchange] = remaining.splice(index, 1);
    for (const answer of exchange!.answers) send({ ...answer, id: request.id });
  });
  process.stdin.on("end", () => process.exit(0));
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) main();

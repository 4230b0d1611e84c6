// The `reviewtune` command as a user runs it: a real child process, the real engine, a tiny random
// Llama built by the engine's own helper (no download). Needs the engine environment (`npm test`
// installs it first).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, cpSync, truncateSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { before, describe, it } from "node:test";
import { listPresets, requireEngineEnvironment } from "@reviewtune/core";
import { TextEvalReportSchema, TrainChannelEventSchema, type TrainChannelEvent } from "@reviewtune/contracts";

const bin = fileURLToPath(new URL("../bin/reviewtune.js", import.meta.url)); // the installed command
const work = mkdtempSync(join(tmpdir(), "reviewtune-cli-"));
const runsDir = join(work, "runs");

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Outcome {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", cwd: work, env: { ...process.env, NO_COLOR: "1" } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The command with `--events FILE`, and the events it appended there (JSON lines). */
let eventFiles = 0;
function cliWithEvents(...args: string[]): Outcome & { events: TrainChannelEvent[] } {
  const file = join(work, `events-${(eventFiles += 1)}.jsonl`);
  const outcome = cli(...args, "--events", file);
  const text = existsSync(file) ? readFileSync(file, "utf8") : "";
  return { ...outcome, events: text.split("\n").filter(Boolean).map((line) => TrainChannelEventSchema.parse(JSON.parse(line))) };
}
const runFolders = () => (existsSync(runsDir) ? readdirSync(runsDir) : []);
const readRun = (folder: string) => JSON.parse(readFileSync(join(runsDir, folder, "run.json"), "utf8")) as Record<string, any>;
const newestRun = (before: string[]) => {
  const added = runFolders().filter((folder) => !before.includes(folder));
  assert.equal(added.length, 1, `expected one new run folder, got ${added.join(", ") || "none"}`);
  return added[0]!;
};

let tinyModel = "";
let dataFile = "";

before(() => {
  const { python, engineSource } = requireEngineEnvironment();
  tinyModel = join(work, "tiny-model");
  const made = spawnSync(python, ["-m", "reviewtune_engine.testing", "make-tiny-model", tinyModel], {
    encoding: "utf8",
    env: { ...process.env, PYTHONPATH: engineSource },
  });
  assert.equal(made.status, 0, made.stderr);
  const words = [
    ["great", "positive"],
    ["awful", "negative"],
    ["fine", "neutral"],
    ["sturdy", "positive"],
  ] as const;
  const rows = Array.from({ length: 48 }, (_, index) => {
    const [word, label] = words[index % words.length]!;
    return JSON.stringify({
      messages: [
        { role: "user", content: `Analyze the sentiment of this review: The blender is ${word}, item ${index}.` },
        { role: "assistant", content: `Sentiment: ${label}.` },
      ],
    });
  });
  dataFile = join(work, "reviews.jsonl");
  writeFileSync(dataFile, `${rows.join("\n")}\n`);
});

const tinyTrain = (...extra: string[]) => [
  "train",
  "--model",
  tinyModel,
  "--data",
  dataFile,
  "--runs-dir",
  runsDir,
  "--lr",
  "0.02",
  "--set",
  "lora.dropout=0",
  "--set",
  "training.max_length=64",
  ...extra,
];

describe("reviewtune CLI", () => {
  it("every preset parses and dry-runs", () => {
    for (const preset of listPresets()) {
      const outcome = cli("train", "--preset", preset, "--dry-run", "--runs-dir", runsDir);
      assert.equal(outcome.status, 0, `${preset}: ${outcome.stderr}`);
      assert.match(outcome.stdout, /dry run: configuration is valid/);
    }
    assert.deepEqual(runFolders(), [], "a dry run creates no run folder");
  });

  it("bad configs exit non-zero, name the field or file, and create no run", () => {
    const unknown = cli("train", "--preset", "nope", "--runs-dir", runsDir);
    assert.equal(unknown.status, 3);
    assert.match(unknown.stderr, /unknown preset "nope"/);
    assert.match(unknown.stderr, /tinyllama-reviews/);

    const negative = cli("train", "--preset", "demo", "--lr", "-0.001", "--runs-dir", runsDir);
    assert.equal(negative.status, 3);
    assert.match(negative.stderr, /training\.learning_rate/);

    const typo = cli("train", "--preset", "demo", "--set", "lora.rank=8", "--runs-dir", runsDir);
    assert.equal(typo.status, 3);
    assert.match(typo.stderr, /Unrecognized key: "rank"/);

    // A missing required option is usage (2), as commander's own; fractions that leave no training rows are configuration (3).
    const noRun = cli("eval");
    assert.equal(noRun.status, 2, noRun.stderr);
    assert.match(noRun.stderr, /eval needs --run/);
    // A value outside an option's choices is a value that cannot be used (3), as our own parsers' are.
    const badChoice = cli("export", "--run", "nowhere", "--format", "bogus");
    assert.equal(badChoice.status, 3, badChoice.stderr);
    assert.match(badChoice.stderr, /Allowed choices are merged, adapter, gguf-lora, vllm/);
    // Paths that are not there are said so, before anything is made or started.
    const noDataset = cli("data", "preview", join(work, "no-such-dataset"));
    assert.equal(noDataset.status, 4, noDataset.stderr);
    assert.match(noDataset.stderr, /dataset folder .*no-such-dataset does not exist/);
    const noRunToCompare = cli("eval", "--compare", join(work, "no-run-a"), join(work, "no-run-b"));
    assert.equal(noRunToCompare.status, 3, noRunToCompare.stderr);
    assert.match(noRunToCompare.stderr, /run folder .*no-run-a does not exist/);
    const comparisonOut = join(work, "comparison-of-nothing");
    const noData = cli("compare-methods", "--data", join(work, "no-such-data"), "--out", comparisonOut);
    assert.equal(noData.status, 4, noData.stderr);
    assert.equal(existsSync(comparisonOut), false, "no comparison folder is left behind");
    const noServer = cli("bench", "serve", "--url", "mine=http://127.0.0.1:9", "--requests", "1");
    assert.equal(noServer.status, 3, noServer.stderr);
    assert.match(noServer.stderr, /http:\/\/127\.0\.0\.1:9 did not answer \(/);
    // ask refuses what no model should be loaded for: nothing to answer, a temperature out of the API's range.
    const empty = cli("ask", "  ");
    assert.equal(empty.status, 2, empty.stderr);
    assert.match(empty.stderr, /error: the prompt is empty/);
    for (const value of ["-1", "50"]) {
      const hot = cli("ask", "--temperature", value, "hi");
      assert.equal(hot.status, 3, hot.stderr);
      assert.match(hot.stderr, new RegExp(`--temperature must be between 0 \\(greedy\\) and 2, got ${value}`));
    }
    const fractions = cli("data", "build", "--input", join(work, "no-such.csv"), "--out", join(work, "never"), "--validation", "0.6", "--test", "0.6");
    assert.equal(fractions.status, 3, fractions.stderr);
    assert.match(fractions.stderr, /--validation 0\.6 and --test 0\.6 leave no reviews for training/);

    const missingData = cli("train", "--preset", "demo", "--data", join(work, "no-such.jsonl"), "--runs-dir", runsDir);
    assert.equal(missingData.status, 4);
    assert.match(missingData.stderr, /no-such\.jsonl does not exist/);
    assert.deepEqual(runFolders(), []);
  });

  it("a missing model folder or corrupt safetensors is an error naming the path; no run is marked complete", () => {
    const missing = cliWithEvents(...tinyTrain("--model", join(work, "no-such-model"), "--max-steps", "2"));
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /no-such-model/);
    // The same failure on the events channel: no run, the message, the hint and the exit code.
    assert.equal(missing.events.length, 1, JSON.stringify(missing.events));
    const [failure] = missing.events as [Extract<TrainChannelEvent, { event: "error" }>];
    assert.equal(failure.event, "error");
    assert.match(failure.message, /no-such-model/);
    assert.equal(failure.exit_code, missing.status);
    assert.ok(missing.stderr.includes(`error: ${failure.message.split("\n")[0]}`));
    if (failure.hint) assert.ok(missing.stderr.includes(`hint: ${failure.hint}`));
    // Events over IPC from a process that has no IPC channel: the user's mistake, said before anything runs.
    const before = runFolders();
    const noChannel = cli(...tinyTrain("--max-steps", "2", "--events", "ipc"));
    assert.equal(noChannel.status, 3, noChannel.stderr);
    assert.match(noChannel.stderr, /--events ipc: this process has no IPC channel/);
    assert.deepEqual(runFolders(), before);

    const corrupt = join(work, "corrupt-model");
    cpSync(tinyModel, corrupt, { recursive: true });
    const weights = join(corrupt, "model.safetensors");
    truncateSync(weights, Math.floor(statSync(weights).size / 2));
    const damaged = cli(...tinyTrain("--model", corrupt, "--max-steps", "2"));
    assert.notEqual(damaged.status, 0);
    assert.match(damaged.stderr, /model\.safetensors is not a valid safetensors file/);
    for (const folder of runFolders()) assert.notEqual(readRun(folder).status, "completed");
  });

  it("trains, writes the run folder, and answers with and without the adapter", () => {
    const before = runFolders();
    const outcome = cli(...tinyTrain("--epochs", "2"));
    assert.equal(outcome.status, 0, outcome.stderr);
    assert.match(outcome.stdout, /trainable params: [\d,]+ \|\| all params: [\d,]+ \|\| trainable%: \d+\.\d{4}/);
    const folder = newestRun(before);
    const record = readRun(folder);
    assert.equal(record.status, "completed");
    assert.equal(record.seed, 42);
    assert.match(record.data.hash, /^[0-9a-f]{64}$/);
    assert.ok(record.versions.torch && record.versions.peft);
    const metrics = readFileSync(join(runsDir, folder, "metrics.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line));
    const losses = metrics.filter((entry) => entry.kind === "train").map((entry) => entry.loss as number);
    assert.ok(losses.length >= 4);
    assert.ok(losses.at(-1)! < losses[0]!, `loss went from ${losses[0]} to ${losses.at(-1)}`);
    assert.ok(metrics.some((entry) => entry.kind === "eval"));
    assert.ok(existsSync(join(runsDir, folder, "adapter", "adapter_config.json")));
    assert.ok(existsSync(join(runsDir, folder, "adapter", "adapter_model.safetensors")));

    const asked = cli("ask", "--run", join(runsDir, folder), "--max-tokens", "4", "Analyze the sentiment of this review: The blender is great.");
    assert.equal(asked.status, 0, asked.stderr);
    assert.match(asked.stderr, /\+ adapter/);
    assert.ok(asked.stdout.trim().length > 0);

    const prompts = join(work, "prompts.jsonl");
    writeFileSync(prompts, ['{"prompt": "Is it good? The blender is awful."}', '{"prompt": "Is it good? The blender is fine."}'].join("\n") + "\n");
    const out = join(work, "answers.jsonl");
    const generated = cli("generate", "--run", join(runsDir, folder), "--prompts", prompts, "--out", out, "--max-tokens", "3");
    assert.equal(generated.status, 0, generated.stderr);
    const answers = readFileSync(out, "utf8").trim().split("\n").map((line) => JSON.parse(line));
    assert.equal(answers.length, 2);
    assert.ok(answers.every((entry) => typeof entry.answer === "string" && entry.new_tokens > 0));

    // Exports: merged weights checked for drift by loading them again; the adapter as it is; never over an old one.
    const merged = cli("export", "--run", join(runsDir, folder), "--prompts", "2", "--max-tokens", "4");
    assert.equal(merged.status, 0, merged.stderr);
    const mergedDir = join(runsDir, folder, "export", "merged");
    assert.ok(existsSync(join(mergedDir, "model.safetensors")) && existsSync(join(mergedDir, "config.json")));
    assert.ok(!existsSync(join(mergedDir, "adapter_config.json")));
    const report = JSON.parse(readFileSync(join(mergedDir, "reviewtune-export.json"), "utf8"));
    assert.equal(report.drift.prompts, 2);
    assert.equal(report.drift.identical_answers, 2, JSON.stringify(report.drift));
    assert.match(merged.stdout, /identical greedy answers 2\/2/);
    const again = cli("export", "--run", join(runsDir, folder));
    assert.equal(again.status, 3);
    assert.match(again.stderr, /already exists/);
    const copied = cli("export", "--run", join(runsDir, folder), "--format", "adapter", "--out", join(work, "adapter-export"));
    assert.equal(copied.status, 0, copied.stderr);
    assert.ok(existsSync(join(work, "adapter-export", "adapter_model.safetensors")));
    // The vLLM lint ran when training ended, and `export --format vllm` copies the adapter with its `vllm serve` command.
    const lint = readRun(folder).result.vllm;
    assert.equal(lint.compatible, true, JSON.stringify(lint.problems));
    const forVllm = cli("export", "--run", join(runsDir, folder), "--format", "vllm", "--out", join(work, "vllm-export"));
    assert.equal(forVllm.status, 0, forVllm.stderr);
    assert.ok(existsSync(join(work, "vllm-export", "adapter_config.json")));
    assert.match(forVllm.stdout, new RegExp(`vllm serve \\S+ --enable-lora --lora-modules ${folder}=${join(work, "vllm-export")} --max-lora-rank \\d+ --max-loras 1`));
  });

  it("bench train --rounds 2 --recipes ours,everywhere: each recipe once a round, the order reversed in the second; rows are median rounds, ratios by round", () => {
    const bad = cli("bench", "train", "--recipes", "ours,fastest");
    assert.equal(bad.status, 3, bad.stderr);
    assert.match(bad.stderr, /--recipes: unknown recipe "fastest"; choose among ours, everywhere, naive, fp32, checkpointed, glibc/);
    const bench = cli("bench", "train", "--model", tinyModel, "--data", dataFile, "--steps", "2", "--rounds", "2", "--recipes", "ours,everywhere", "--max-length", "64", "--batch-size", "4", "--grad-accum", "1");
    assert.equal(bench.status, 0, bench.stderr);
    const order = [...bench.stderr.matchAll(/bench: (.+?), 2 steps \(round (\d) of 2\)/g)].map((match) => `${match[2]}:${match[1]}`);
    assert.deepEqual(order, ["1:reviewtune (padding-free, labelled logits)", "1:padding-free, logits everywhere", "2:padding-free, logits everywhere", "2:reviewtune (padding-free, labelled logits)"]);
    const rows = [...bench.stdout.matchAll(/^\| (reviewtune \(padding-free, labelled logits\)|padding-free, logits everywhere) +\| (\w+) +\| \w+ +\| ([\d.]+) +\| ([\d.]+), ([\d.]+) +\|/gm)];
    assert.equal(rows.length, 2, bench.stdout);
    for (const [, , , median, first, second] of rows) assert.equal(median, String(Math.min(Number(first), Number(second)).toFixed(1)), "the slower of two rounds is the row");
    assert.doesNotMatch(bench.stdout, /naive|activation checkpointing|glibc/, "recipes not asked for are not run");
    const versus = /vs logits everywhere: ([\d.]+)x \(by round: ([\d.]+), ([\d.]+)\) tokens\/s/.exec(bench.stdout);
    assert.ok(versus, bench.stdout);
    assert.ok(Math.abs(Number(versus[1]) - (Number(versus[2]) + Number(versus[3])) / 2) <= 0.0051, "the ratio is the median of the rounds' ratios");
  });

  it("Ctrl-C stops training with a checkpoint, and --resume finishes the run", async () => {
    const before = runFolders();
    // Started as the studio starts it: events over Node's IPC channel.
    const child = spawn(process.execPath, [bin, ...tinyTrain("--max-steps", "300", "--set", "checkpoints.every_steps=1000"), "--events", "ipc"], {
      cwd: work,
      detached: true, // its own process group, so the signal reaches the CLI and the engine as in a terminal
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    const events: TrainChannelEvent[] = [];
    child.on("message", (message) => events.push(TrainChannelEventSchema.parse(message)));
    const closed = new Promise<void>((resolve) => child.on("close", () => resolve()));
    let stderr = "";
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await new Promise<void>((resolve) => {
      child.stderr!.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
        if (/eval at step 12 /.test(stderr)) resolve(); // two epochs in: well under way
      });
      child.on("exit", () => resolve());
    });
    process.kill(-child.pid!, "SIGINT");
    const code = await exited;
    assert.equal(code, 130, stderr);
    assert.match(stderr, /reviewtune train --resume/);
    const folder = newestRun(before);
    // The events say the same: the run's folder (as soon as it existed), its end, the exit.
    await closed;
    assert.deepEqual(events.map((event) => event.event), ["run", "done", "error"]);
    assert.deepEqual(events[0], { event: "run", id: folder, dir: join(runsDir, folder) });
    assert.deepEqual(events[1], { event: "done", id: folder, status: "cancelled" });
    assert.equal((events[2] as { exit_code: number }).exit_code, 130);
    const stopped = readRun(folder);
    assert.equal(stopped.status, "cancelled");
    const stoppedAt = stopped.result.global_step as number;
    assert.ok(stoppedAt > 0 && stoppedAt < 300);

    const resumed = cliWithEvents("train", "--resume", join(runsDir, folder));
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.deepEqual(resumed.events, [
      { event: "run", id: folder, dir: join(runsDir, folder) },
      { event: "done", id: folder, status: "completed" },
    ]);
    const record = readRun(folder);
    assert.equal(record.status, "completed");
    assert.equal(record.result.global_step, 300);
    assert.equal(record.result.resumed_from_step, stoppedAt);
    const steps = readFileSync(join(runsDir, folder, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line))
      .filter((entry) => entry.kind === "train")
      .map((entry) => entry.step as number);
    assert.deepEqual(steps, Array.from({ length: 300 }, (_, index) => index + 1), "one metrics line per step, none lost or repeated");
  });
});

describe("reviewtune train on two processes (torchrun, gloo on this CPU)", () => {
  const trainLosses = (folder: string) =>
    readFileSync(join(runsDir, folder, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line))
      .filter((entry) => entry.kind === "train")
      .map((entry) => [entry.step as number, entry.loss as number] as const);

  it("--nproc-per-node 2 trains one distributed run with the curve of one process of the same global batch", () => {
    // A validation file of its own, so that all 48 rows train: 3 global batches of 16 an epoch. (Where
    // an epoch does not divide into global batches, its last step differs: accelerate evens out the
    // ranks' last batches by repeating rows.)
    const validation = join(work, "validation.jsonl");
    writeFileSync(validation, readFileSync(dataFile, "utf8").split("\n").slice(0, 8).join("\n") + "\n");
    // fp32: the same arithmetic in both (bf16 autocast rounds a batch of 4 and two of 2 differently).
    const exact = ["--set", `data.validation=${validation}`, "--set", "training.precision=fp32"];
    let before = runFolders();
    const two = cli(...tinyTrain("--max-steps", "6", "--batch-size", "2", "--nproc-per-node", "2", ...exact));
    assert.equal(two.status, 0, two.stderr);
    assert.match(two.stdout, /batches +2 x 4 accumulation x 2 processes = 16/);
    assert.match(two.stdout, /processes +2 \(2 on this machine\) under torchrun, ddp/);
    assert.match(two.stdout, /2 processes \(ddp, gloo, MULTI_CPU\)/);
    const twoFolder = newestRun(before);
    const record = readRun(twoFolder);
    // The engine saw one run of world size 2 in accelerate's distributed mode, not two single runs.
    assert.deepEqual(record.result.distributed, { world_size: 2, nnodes: 1, nproc_per_node: 2, strategy: "ddp", backend: "gloo", mode: "MULTI_CPU" });
    assert.deepEqual(record.config.distributed, { nproc_per_node: 2, nnodes: 1, node_rank: 0, master_addr: "127.0.0.1", strategy: "ddp" });
    assert.ok(existsSync(join(runsDir, twoFolder, "distributed", "request.json")));
    assert.ok(existsSync(join(runsDir, twoFolder, "adapter", "adapter_model.safetensors")));

    before = runFolders();
    const one = cli(...tinyTrain("--max-steps", "6", "--batch-size", "4", ...exact));
    assert.equal(one.status, 0, one.stderr);
    const oneFolder = newestRun(before);
    assert.equal(readRun(oneFolder).result.distributed ?? null, null);
    const curveOne = trainLosses(oneFolder);
    const curveTwo = trainLosses(twoFolder);
    assert.deepEqual(curveTwo.map(([step]) => step), [1, 2, 3, 4, 5, 6]);
    for (const [index, [step, loss]] of curveOne.entries()) {
      const other = curveTwo[index]![1];
      assert.ok(Math.abs(loss - other) <= 1e-4 * Math.abs(loss), `step ${step}: one process ${loss}, two ${other}`);
    }
  });

  it("Ctrl-C stops both processes on one step with a checkpoint, and --resume finishes the run", async () => {
    const before = runFolders();
    const child = spawn(process.execPath, [bin, ...tinyTrain("--max-steps", "300", "--batch-size", "2", "--nproc-per-node", "2", "--set", "checkpoints.every_steps=1000")], {
      cwd: work,
      detached: true, // its own process group: the signal reaches the CLI and the engine as in a terminal
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await new Promise<void>((resolve) => {
      child.stderr!.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
        if (/eval at step 6 /.test(stderr)) resolve(); // two epochs of the global batch in
      });
      child.on("exit", () => resolve());
    });
    process.kill(-child.pid!, "SIGINT");
    assert.equal(await exited, 130, stderr);
    assert.match(stderr, /reviewtune train --resume/);
    const folder = newestRun(before);
    const stopped = readRun(folder);
    assert.equal(stopped.status, "cancelled");
    const stoppedAt = stopped.result.global_step as number;
    assert.ok(stoppedAt >= 6 && stoppedAt < 300, String(stoppedAt));
    const checkpoint = join(runsDir, folder, "checkpoints", `checkpoint-${stoppedAt}`);
    assert.deepEqual(readdirSync(checkpoint).filter((name) => name.startsWith("rng_state")).sort(), ["rng_state_0.pth", "rng_state_1.pth"]);

    const resumed = cli("train", "--resume", join(runsDir, folder));
    assert.equal(resumed.status, 0, resumed.stderr);
    const record = readRun(folder);
    assert.equal(record.status, "completed");
    assert.equal(record.result.global_step, 300);
    assert.equal(record.result.resumed_from_step, stoppedAt);
    assert.equal(record.result.distributed.world_size, 2);
    assert.deepEqual(trainLosses(folder).map(([step]) => step), Array.from({ length: 300 }, (_, index) => index + 1), "one metrics line per step, none lost or repeated");
  });

  it("bad distributed options name the field", () => {
    const rank = cli(...tinyTrain("--nnodes", "2", "--node-rank", "2", "--master-addr", "10.0.0.1", "--dry-run"));
    assert.notEqual(rank.status, 0);
    assert.match(rank.stderr, /distributed\.node_rank/);
    const strategy = cli(...tinyTrain("--nproc-per-node", "2", "--distributed", "horovod", "--dry-run"));
    assert.notEqual(strategy.status, 0);
    assert.match(strategy.stderr, /distributed\.strategy/);
    const address = cli(...tinyTrain("--nnodes", "2", "--node-rank", "1", "--dry-run"));
    assert.match(address.stderr, /--master-addr/);
  });
});

describe("reviewtune setup", () => {
  it("without a usable Python, fails with a message that says what to install", () => {
    const result = spawnSync(process.execPath, [bin, "setup"], {
      encoding: "utf8",
      env: { ...process.env, REVIEWTUNE_ENGINE_ENV: join(work, "no-env"), REVIEWTUNE_PYTHON: join(work, "no-such-python") },
    });
    assert.equal(result.status, 5, result.stderr);
    assert.match(result.stderr, /Python 3\.11 or newer is needed/);
    assert.match(result.stderr, /no-such-python: not found/);
    assert.match(result.stderr, /apt install python3 python3-venv/);
    assert.ok(!existsSync(join(work, "no-env")), "nothing half-made is left behind");
  });

  it("reuses a complete environment without reinstalling", () => {
    const result = cli("setup");
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /engine environment ready \(reused\)/);
  });
});

describe("reviewtune data", () => {
  it("demo -> preview -> train --dry-run on the dataset folder", () => {
    const out = join(work, "demo-dataset");
    const demo = cli("data", "demo", "--out", out, "--reviews", "60");
    assert.equal(demo.status, 0, demo.stderr);
    assert.match(demo.stdout, /60 reviews -> 420 examples/);
    const preview = cli("data", "preview", out, "--rows", "1");
    assert.equal(preview.status, 0, preview.stderr);
    assert.match(preview.stdout, /--- train\.jsonl #1 \(task \w+, review demo-\d+\) ---/);
    const bogus = cli("data", "preview", out, "--split", "bogus");
    assert.equal(bogus.status, 3, bogus.stderr);
    assert.match(bogus.stderr, /--split must be train, validation \(or val\) or test, got "bogus"/);
    assert.equal(bogus.stdout, "", "the flag is checked before the card is printed");
    const plan = cli("train", "--preset", "demo", "--data", out, "--dry-run", "--runs-dir", runsDir);
    assert.equal(plan.status, 0, plan.stderr);
    const again = cli("data", "demo", "--out", out);
    assert.equal(again.status, 3);
    assert.match(again.stderr, /already exists/);
  });

  it("recipes R2 and R4 on the project's demo catalogue: data demo --kind qa|descriptions -> train the tiny model (R4 with grounded prompts) -> ask -> eval", () => {
    for (const [kind, task, question] of [
      ["descriptions", "description", "Write a product description for the following product.\n\nTitle: Kestrel Women Teal Silk Slim Fit Dress"],
      ["qa", "qa", "Can the Kestrel teal silk dress go in the washing machine?"],
    ] as const) {
      const out = join(work, `demo-${kind}`);
      const demo = cli("data", "demo", "--kind", kind, "--products", "40", "--out", out);
      assert.equal(demo.status, 0, demo.stderr);
      const card = JSON.parse(readFileSync(join(out, "card.json"), "utf8"));
      assert.deepEqual(Object.keys(card.by_task.train), [task]);
      assert.equal(card.examples, kind === "qa" ? 80 : 40);
      assert.match(demo.stdout, new RegExp(`: ${card.examples} examples \\(ready-made, no reviews\\)`));
      const before = runFolders();
      // R4 trains with each prompt grounded on its nearest training description (another product's).
      const grounded = kind === "descriptions";
      const trained = cli(...tinyTrain("--data", out, "--max-steps", "6", "--batch-size", "4", "--set", `training.max_length=${grounded ? 320 : 192}`, ...(grounded ? ["--grounding", "nearest"] : [])));
      assert.equal(trained.status, 0, trained.stderr);
      const folder = newestRun(before);
      assert.equal(readRun(folder).status, "completed");
      const trainedPrompts = readFileSync(join(runsDir, folder, "data", "train.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line).prompt as string);
      assert.equal(trainedPrompts.every((prompt) => prompt.includes("A similar request from the training data and its answer:")), grounded);
      if (grounded) {
        assert.match(trained.stderr, /grounding: \d+ training examples indexed/);
        for (const prompt of trainedPrompts) {
          // The neighbour is another product: its title differs from the row's own.
          const titles = [...prompt.matchAll(/Title: (.+)/g)].map((match) => match[1]);
          assert.equal(titles.length, 2, prompt);
          assert.notEqual(titles[0], titles[1], prompt);
        }
      }
      const losses = readFileSync(join(runsDir, folder, "metrics.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line)).filter((entry) => entry.kind === "train").map((entry) => entry.loss as number);
      assert.ok(losses.at(-1)! < losses[0]!, `${kind}: loss went from ${losses[0]} to ${losses.at(-1)}`);
      if (grounded) {
        // A review dataset is refused before any training: a review's prompt is the review itself.
        const reviews = join(work, "demo-reviews-for-grounding");
        assert.equal(cli("data", "demo", "--out", reviews, "--reviews", "60").status, 0);
        const refused = cli(...tinyTrain("--data", reviews, "--max-steps", "1", "--grounding", "nearest"));
        assert.notEqual(refused.status, 0);
        assert.match(refused.stderr, /data\.grounding: nearest grounds question, description and instruction rows; .*train\.jsonl line 1 is a "\w+" review row/);
        assert.equal(newestRun(before), folder, "no run folder for a refused config");
      }
      const asked = cli("ask", "--run", join(runsDir, folder), "--max-tokens", "6", question);
      assert.equal(asked.status, 0, asked.stderr);
      assert.ok(asked.stdout.trim().length > 0, `${kind}: an answer`);
      assert.equal(/\[grounded on the nearest training example of /.test(asked.stderr), grounded, asked.stderr);
      if (grounded) {
        // `test` (a prompts file) asks the grounded run the same way; the document keeps the bare questions.
        const prompts = join(work, "r4-prompts.jsonl");
        writeFileSync(prompts, `${JSON.stringify({ prompt: question })}\n`);
        const tested = cli("test", "--run", join(runsDir, folder), "--prompts", prompts, "--out", join(work, "r4-answers.json"), "--max-tokens", "4");
        assert.equal(tested.status, 0, tested.stderr);
        assert.match(tested.stderr, /\[grounded on the nearest training example of /);
        assert.deepEqual((JSON.parse(readFileSync(join(work, "r4-answers.json"), "utf8")) as { answers: Array<{ question: string }> }).answers.map((entry) => entry.question), [question]);
        // An export carries the weights, not the index: it says how to keep the prompts grounded.
        const exported = cli("export", "--run", join(runsDir, folder), "--format", "adapter", "--out", join(work, "r4-adapter"));
        assert.equal(exported.status, 0, exported.stderr);
        assert.ok(existsSync(join(work, "r4-adapter", "adapter_config.json")));
        assert.match(exported.stdout, /was trained with grounded prompts .*This export holds the weights only: served on its own it gets bare prompts\. Put reviewtune in front \(serve --run .* --upstream/);
      }

      // eval picks the text metrics by the dataset's kind: tuned vs base vs retrieval, paired on the headline metric.
      const evaluated = cli("eval", "--run", join(runsDir, folder), "--limit", "3", "--max-tokens", "8", "--bootstrap", "50");
      assert.equal(evaluated.status, 0, evaluated.stderr);
      assert.match(evaluated.stdout, /\| system \| ROUGE-L \| token F1 \| exact match/);
      // The table carries only what the dataset's kind measures.
      assert.equal(/embedding similarity \| unsupported attributes \| invented attributes \(lower is better\) \|/.test(evaluated.stdout), kind === "descriptions", evaluated.stdout);
      if (kind === "descriptions") assert.doesNotMatch(evaluated.stdout, /yes\/no accuracy|keyword recall/, "no column of n/a");
      assert.match(readFileSync(join(runsDir, folder, "eval", "text-report.md"), "utf8"), /How to read it: ROUGE-L is the longest common run of words/);
      const report = TextEvalReportSchema.parse(JSON.parse(readFileSync(join(runsDir, folder, "eval", "text-report.json"), "utf8")));
      assert.deepEqual(report.systems.map((system) => system.name), ["tuned", "base", "retrieval"]);
      assert.equal(report.headline, kind === "qa" ? "token_f1" : "rouge_l");
      assert.deepEqual(report.comparisons.map((comparison) => comparison.b), ["base", "retrieval"]);
      const splitItems = readFileSync(join(out, "test.jsonl"), "utf8").trim().split("\n").length;
      assert.equal(report.items, 3);
      // --limit is recorded and said: the part must not read as the whole split.
      assert.equal(report.split_items, splitItems);
      assert.ok(splitItems > 3, `the demo ${kind} split has more than the limit (${splitItems})`);
      assert.ok(readFileSync(join(runsDir, folder, "eval", "text-report.md"), "utf8").includes(`3 test prompts of ${out} (the first 3 of its ${splitItems}: --limit)`));
      const rows = readFileSync(join(runsDir, folder, "eval", "text-answers.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line));
      const trainingAnswers = new Set(readFileSync(join(out, "train.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line).messages.at(-1).content));
      assert.ok(rows.every((row) => trainingAnswers.has(row.answers.retrieval)), "retrieval answers with a training answer");
      // Grounded: the models were asked with the retrieval answer in the prompt; the report says so.
      assert.equal(report.grounding?.mode, grounded ? "nearest" : undefined);
      if (grounded) assert.ok(rows.every((row) => row.prompt.includes(`\nAnswer: ${row.answers.retrieval}\n\nNow this request:\n`)), "each prompt carries the retrieval answer");
      if (kind === "qa") assert.ok(report.systems[0]!.metrics.yes_no_accuracy !== null || rows.every((row) => row.slices.question_type !== "yes/no"));
      // Descriptions add the meaning (embeddings) and the attributes the title does not give, for every system.
      for (const system of report.systems) {
        assert.equal(system.metrics.embedding_similarity === null || system.metrics.embedding_similarity === undefined, kind === "qa", `${kind} ${system.name}: embedding similarity`);
        assert.equal(system.metrics.unsupported_attributes === null || system.metrics.unsupported_attributes === undefined, kind === "qa", `${kind} ${system.name}: unsupported attributes`);
        assert.equal(system.metrics.invented_attributes === null || system.metrics.invented_attributes === undefined, kind === "qa", `${kind} ${system.name}: invented attributes`);
        // Invented (in neither the title nor the reference) is a part of unsupported (not in the title).
        if (kind === "descriptions") assert.ok(system.metrics.invented_attributes!.value! <= system.metrics.unsupported_attributes!.value!, `${system.name}: invented <= unsupported`);
      }
      // The references read as answers, for descriptions only: the yardstick of "unsupported".
      assert.equal(report.references === undefined, kind === "qa");
      if (kind === "descriptions") {
        // Retrieval answers with another product's description: its similarity to the reference is real but below 1.
        const retrieval = report.systems.find((system) => system.name === "retrieval")!.metrics.embedding_similarity!;
        assert.ok(retrieval.value! > 0 && retrieval.value! < 1, JSON.stringify(retrieval));
      }
    }
  });
  it("recipe R4 on the llama.cpp path: a grounded SmolLM2 run's eval answers through llama.cpp (the adapter as GGUF LoRA), grounding and retrieval on the engine; Ctrl-C writes no report; export --format gguf-lora measures its drift on grounded prompts", async () => {
    const out = join(work, "demo-descriptions-smol");
    assert.equal(cli("data", "demo", "--kind", "descriptions", "--products", "40", "--out", out).status, 0);
    const splitItems = readFileSync(join(out, "test.jsonl"), "utf8").trim().split("\n").length;
    const items = Math.min(3, splitItems);
    const before = runFolders();
    const trained = cli("train", "--model", "smollm2-135m-instruct", "--data", out, "--grounding", "nearest", "--runs-dir", runsDir, "--max-steps", "2", "--batch-size", "2", "--set", "training.max_length=320", "--set", "evaluation.strategy=no");
    assert.equal(trained.status, 0, trained.stderr);
    const run = join(runsDir, newestRun(before));
    const evaluated = cli("eval", "--run", run, "--limit", "3", "--max-tokens", "8", "--bootstrap", "50");
    assert.equal(evaluated.status, 0, evaluated.stderr);
    assert.match(evaluated.stderr, /llama\.cpp path: .*\.Q8_0\.gguf/);
    assert.match(evaluated.stderr, new RegExp(`tuned: answering ${items} test prompts \\(llamacpp, chunks of \\d+, greedy\\)`));
    assert.match(evaluated.stdout, new RegExp(`evaluated ${items}${splitItems > items ? ` of ${splitItems}` : ""} test prompts \\(description\\) in [\\d.]+ min \\(llamacpp\\)`));
    const report = TextEvalReportSchema.parse(JSON.parse(readFileSync(join(run, "eval", "text-report.json"), "utf8")));
    assert.equal(report.backend, "llamacpp");
    assert.equal(report.grounding?.mode, "nearest");
    const rows = readFileSync(join(run, "eval", "text-answers.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line));
    assert.equal(rows.length, items);
    for (const row of rows) {
      assert.ok(row.answers.tuned.length > 0 && row.answers.base.length > 0, JSON.stringify(row.answers));
      assert.match(row.prompt, /\nNow this request:\n/, "the llama.cpp path is asked the grounded prompt");
    }
    assert.match(readFileSync(join(run, "eval", "text-report.md"), "utf8"), /The tuned and base answers come from the llama\.cpp path/);

    // export --format gguf-lora: the GGUF LoRA with its drift in llama.cpp over the model's own base and
    // over serve's Q8_0 base, measured on the prompts the run answers in use (grounded, as it was trained).
    const gguf = join(work, "r4-lora.gguf");
    const exported = cli("export", "--run", run, "--format", "gguf-lora", "--out", gguf, "--prompts", "2", "--max-tokens", "6");
    assert.equal(exported.status, 0, exported.stderr);
    assert.ok(statSync(gguf).size > 1024 && !readdirSync(work).some((name) => name.includes(".partial")));
    assert.match(exported.stderr, /drift check: 2 prompts from .*, grounded as the run was trained, greedy/);
    const exportReport = JSON.parse(readFileSync(`${gguf}.json`, "utf8"));
    assert.equal(exportReport.format, "gguf-lora");
    assert.equal(exportReport.drift.grounded, true);
    assert.equal(exportReport.drift.rows.length, 2, "the model's own Q4_1 file, and the Q8_0 file serve loads");
    assert.match(exportReport.drift.rows[1].file, /\.Q8_0\.gguf$/);
    for (const row of exportReport.drift.rows) {
      assert.equal(row.prompts, 2);
      assert.ok(row.identical_answers >= 0 && row.identical_answers <= 2);
      assert.ok(row.samples.every((sample: { adapter: string; gguf: string }) => sample.adapter.length > 0 && sample.gguf.length > 0), JSON.stringify(row.samples));
    }
    assert.match(exported.stdout, /identical answers \d\/2/);
    assert.match(exported.stdout, /was trained with grounded prompts/);
    const quantError = cli("export", "--run", run, "--format", "gguf-lora", "--out", join(work, "other.gguf"), "--quant", "q3");
    assert.notEqual(quantError.status, 0);
    assert.match(quantError.stderr, /q4_0, q8_0, source/);

    // Ctrl-C while the adapter loads: the llama.cpp path then answers "" at once; eval must stop, not report empty answers.
    const other = join(work, "r4-interrupted");
    const child = spawn(process.execPath, [bin, "eval", "--run", run, "--limit", "3", "--max-tokens", "8", "--bootstrap", "50", "--out", other], { cwd: work, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && !/llamacpp: loading the adapter/.test(stderr) && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 50));
    child.kill("SIGINT");
    assert.equal(await exited, 130, stderr);
    assert.match(stderr, /interrupted: stopping cleanly \(no report is written\)/);
    assert.match(stderr, /error: the evaluation was interrupted: no report was written\nhint: run the same command again/);
    assert.doesNotMatch(stderr, /operation was aborted|cancelled before it started/, "the interrupt is said in the product's words");
    assert.ok(!existsSync(join(other, "text-report.json")) && !existsSync(join(other, "text-answers.jsonl")), "no report of an interrupted evaluation");

    // A mistyped run folder lists the runs beside it; a bad --backend names the choices.
    const missing = cli("eval", "--run", join(runsDir, "no-such-run"));
    assert.equal(missing.status, 3, missing.stderr);
    assert.match(missing.stderr, /error: run folder .*no-such-run does not exist/);
    assert.ok(missing.stderr.includes(`hint: run folders in ${runsDir}: `) && missing.stderr.includes(run), missing.stderr);
    const badBackend = cli("eval", "--run", run, "--backend", "gpu");
    assert.equal(badBackend.status, 3, badBackend.stderr);
    assert.match(badBackend.stderr, /--backend must be auto, llamacpp or torch, got "gpu"/);

    // A sequence's context (1,024 tokens) cannot hold a prompt and 1,100 new tokens: named before any answer, with the fix.
    // Into the run's eval folder, which holds the first report: the note says it would be replaced, and the refusal leaves it as it was.
    const earlier = readFileSync(join(run, "eval", "text-report.json"), "utf8");
    const tooLong = cli("eval", "--run", run, "--limit", "1", "--max-tokens", "1100");
    assert.equal(tooLong.status, 3, tooLong.stderr);
    assert.match(tooLong.stderr, /note: .*eval holds an earlier evaluation; it is replaced when this one finishes \(pass --out DIR to keep both\)/);
    assert.match(tooLong.stderr, /test prompt 1 of .*test\.jsonl \(group .+\) takes \d+ tokens and its answer up to 1100: \d+ in all, more than the 1024 a llama\.cpp sequence holds/);
    assert.match(tooLong.stderr, /hint: pass --backend torch/);
    assert.equal(readFileSync(join(run, "eval", "text-report.json"), "utf8"), earlier, "a refused evaluation leaves the earlier report");
  });

  it("preview --model shows the exact training string with the trained part marked", () => {
    const out = join(work, "demo-dataset-2");
    assert.equal(cli("data", "demo", "--out", out, "--reviews", "20").status, 0);
    const preview = cli("data", "preview", out, "--rows", "1", "--model", tinyModel);
    assert.equal(preview.status, 0, preview.stderr);
    assert.match(preview.stdout, /\d+ prompt \+ \d+ answer tokens/);
    assert.match(preview.stdout, /<\|im_start\|>assistant\n⟦\w+: .+<\|im_end\|>\n⟧/);
  });

  it("build --model counts tokens with the model and shortens reviews, never answers, to fit --max-tokens", () => {
    const input = join(work, "long-reviews.jsonl");
    const long = "The blender is great and the motor is strong. ".repeat(12);
    writeFileSync(input, Array.from({ length: 12 }, (_, index) => JSON.stringify({ review_id: `L${index}`, text: `${long} Item ${index}.`, rating: 1 + (index % 5) })).join("\n") + "\n");
    const plain = join(work, "long-plain");
    const fitted = join(work, "long-fitted");
    assert.equal(cli("data", "build", "--input", input, "--out", plain, "--validation", "0", "--test", "0").status, 0);
    const built = cli("data", "build", "--input", input, "--out", fitted, "--validation", "0", "--test", "0", "--model", tinyModel, "--max-tokens", "200");
    assert.equal(built.status, 0, built.stderr);
    const card = JSON.parse(readFileSync(join(fitted, "card.json"), "utf8"));
    assert.equal(card.tokens.max_tokens, 200);
    assert.ok(card.tokens.total.max <= 200, `longest example has ${card.tokens.total.max} tokens`);
    assert.ok(card.tokens.truncated_examples > 0);
    const rows = (folder: string) => readFileSync(join(folder, "train.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line));
    const before = rows(plain);
    const after = rows(fitted);
    assert.equal(after.length + card.rejected.too_long, before.length);
    for (const row of after) {
      const original = before.find((candidate) => candidate.group === row.group && candidate.task === row.task)!;
      assert.equal(row.messages[1].content, original.messages[1].content, "the answer is never cut");
      if (row.truncated) assert.match(row.messages[0].content, / …"$/);
      else assert.equal(row.messages[0].content, original.messages[0].content);
    }
  });

  it("build: a bad row stops with file and line, --skip-bad-rows reports it and goes on", () => {
    const input = join(work, "reviews-with-a-bad-row.jsonl");
    writeFileSync(input, ['{"text": "Great fit, love it.", "rating": 5}', '{"text": "Broke in a', '{"text": "The strap is flimsy.", "rating": 2}'].join("\n") + "\n");
    const stopped = cli("data", "build", "--input", input, "--out", join(work, "bad-dataset"));
    assert.equal(stopped.status, 4, stopped.stderr);
    assert.match(stopped.stderr, /reviews-with-a-bad-row\.jsonl:2: not valid JSON/);
    assert.match(stopped.stderr, /--skip-bad-rows/);
    assert.ok(!existsSync(join(work, "bad-dataset")));
    const skipped = cli("data", "build", "--input", input, "--out", join(work, "bad-dataset"), "--skip-bad-rows");
    assert.equal(skipped.status, 0, skipped.stderr);
    assert.match(skipped.stdout, /2 reviews -> 14 examples/); // six chat tasks and the analysis per review
    assert.match(skipped.stdout, /reviews-with-a-bad-row\.jsonl:2: malformed/);
  });

  it("build | head: a reader that goes away ends it quietly (141, no stack trace)", async () => {
    const input = join(work, "piped.csv");
    writeFileSync(input, "text,rating\n" + Array.from({ length: 50 }, (_, index) => `"Blender ${index} works well, the jar is sturdy",5`).join("\n") + "\n");
    const child = spawn(process.execPath, [bin, "data", "build", "--input", input, "--out", join(work, "piped-dataset")], { cwd: work, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    // The reader gone before the build prints (as `| head -0`, or a head that quit early): waiting for its
    // first line raced the build, which now prints all of it in one go before the reader can leave.
    child.stdout.destroy();
    const status = await new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    assert.equal(status, 141, stderr);
    assert.doesNotMatch(stderr, /EPIPE|Unhandled|at /);
  });
});

describe("reviewtune classification heads", () => {
  const dataset = join(work, "classify-dataset");
  before(() => {
    const demo = cli("data", "demo", "--out", dataset, "--reviews", "60");
    assert.equal(demo.status, 0, demo.stderr);
  });

  it("train --task classify: rows from reviews.jsonl by split, R3's report in run.json and printed, then classify --run", () => {
    const missingLabels = cli("train", "--task", "classify", "--data", dataset, "--model", tinyModel, "--dry-run", "--runs-dir", runsDir);
    assert.equal(missingLabels.status, 3);
    assert.match(missingLabels.stderr, /labels: is required for task "classify"/);

    const before = runFolders();
    const trained = cli(...tinyTrain("--data", dataset, "--task", "classify", "--labels", "sentiment", "--max-steps", "4", "--batch-size", "4"));
    assert.equal(trained.status, 0, trained.stderr);
    assert.match(trained.stdout, /task {9}classify \(sentiment: negative: \d+, neutral: \d+, positive: \d+ in train; \d+ validation rows\)/);
    assert.match(trained.stdout, /GiB, \d+ s training of \d+ s in all \(loading, evaluation and saving included: the table's wall s\)/);
    assert.match(trained.stdout, /\| method \| trainable params \| total params \| trainable % \| quantization \| LoRA \| peak memory GiB \| wall s \| steps \| eval loss \| accuracy \| macro F1 \| AUC \|/);
    const folder = newestRun(before);
    const record = readRun(folder);
    assert.equal(record.status, "completed");
    const reviews = readFileSync(join(dataset, "reviews.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line));
    const trainRows = readFileSync(join(runsDir, folder, "data", "train.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line));
    assert.equal(trainRows.length, reviews.filter((review) => review.split === "train").length, "the dataset's train split, nothing else");
    assert.deepEqual(Object.keys(trainRows[0]).sort(), ["label", "text"]);
    assert.equal(record.data.validation_rows, reviews.filter((review) => review.split === "validation").length);
    const report = record.result.report;
    assert.equal(report.method, "lora");
    assert.ok(report.trainable_params > 0 && report.trainable_params < report.total_params);
    assert.equal(report.quantization, "none");
    for (const key of ["eval_loss", "accuracy", "macro_f1", "auc"]) assert.equal(typeof report[key], "number", key);
    assert.equal(record.result.classification.confusion_matrix.length, 3);

    const answered = cli("classify", "--run", join(runsDir, folder), "--json", "I love it, works great", "Broke after two days");
    assert.equal(answered.status, 0, answered.stderr);
    const result = JSON.parse(answered.stdout);
    assert.deepEqual(result.labels, ["negative", "neutral", "positive"]);
    assert.equal(result.outputs.length, 2);
    for (const output of result.outputs) {
      assert.ok(result.labels.includes(output.label));
      const total = Object.values(output.probabilities as Record<string, number>).reduce((sum, value) => sum + value, 0);
      assert.ok(Math.abs(total - 1) < 1e-4, `probabilities sum to ${total}`);
    }
    const notClassifier = cli("classify", "--model", tinyModel, "some text");
    assert.equal(notClassifier.status, 3);
    assert.match(notClassifier.stderr, /has no classification head/);
  });

  it("compare-methods: one table for lora, qlora and full; qlora without CUDA is a row saying why", () => {
    const out = join(work, "comparison");
    const compared = cli(
      "compare-methods", "--data", dataset, "--model", tinyModel, "--methods", "lora,qlora,full", "--max-steps", "2", "--batch-size", "4",
      "--lr", "0.01", "--full-lr", "0.001", "--max-length", "64", "--out", out,
    );
    assert.equal(compared.status, 0, compared.stderr);
    const comparison = JSON.parse(readFileSync(join(out, "comparison.json"), "utf8"));
    assert.deepEqual(comparison.rows.map((row: { method: string }) => row.method), ["lora", "qlora", "full"]);
    const [lora, qlora, full] = comparison.rows;
    assert.equal(lora.report.steps, 2);
    assert.equal(full.report.trainable_params, full.report.total_params);
    // The same base and head: LoRA's frozen part (base + the original head) is the full model; its
    // trainable part is the adapter plus PEFT's trained copy of the head.
    assert.equal(lora.report.total_params - lora.report.trainable_params, full.report.total_params);
    assert.equal(qlora.report, null);
    assert.match(qlora.reason, /CUDA/);
    const markdown = readFileSync(join(out, "comparison.md"), "utf8");
    assert.match(markdown, /\| qlora \| not run: QLoRA .*needs a CUDA GPU/);
    assert.match(compared.stdout, /\| full \| [\d,]+ \| [\d,]+ \| 100\.0000 \|/);
    const again = cli("compare-methods", "--data", dataset, "--model", tinyModel, "--out", out);
    assert.equal(again.status, 3);
    assert.match(again.stderr, /already holds a comparison/);
  });
});

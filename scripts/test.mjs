#!/usr/bin/env node
// Runs every test: the TypeScript suites (node's test runner over the built *.test.js files) and the
// engine's pytest suite in the engine environment, side by side. Fails if either fails, or if pytest
// collected no test at all (its exit 5 would otherwise look like "nothing wrong").
//
// Side by side because the TypeScript suite leaves the machine ~30% idle (its tests wait on servers,
// a browser and engine start-ups; vmstat over a whole run on 2 cores), and the engine suite, ~6
// minutes of CPU, fits in those gaps: pytest runs its torch on one thread there (OMP_NUM_THREADS=1)
// at a lower CPU priority (nice 10), and its output is shown whole when it ends rather than
// interleaved. The priority matters: the TypeScript suite's engines run torch on two OpenMP
// threads, which wait for each other at every operation, and a third busy thread of equal priority
// kept taking one of their cores: they went ~3x slower while pytest ran (analyze.test took 100 s
// beside it, 34 s alone). A 2-thread torch loop of small layers: 84 it/s alone, 31 beside a 1-thread
// matmul loop, 85 beside the same loop at nice 10, which itself kept 63% of its speed (the loop
// leaves gaps). Nice 10 rather than 19 so that pytest's own time limits (30 s and up) still hold
// while a TypeScript test trains. `node scripts/test.mjs py` runs it alone, on every core, its
// output live.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { constants, setPriority } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const say = (line) => console.error(`[test] ${line}`);
const only = process.argv[2]; // "ts" or "py" to run one side

function testFiles() {
  const files = [];
  for (const name of readdirSync(join(root, "packages"))) {
    const dist = join(root, "packages", name, "dist");
    let entries = [];
    try {
      entries = readdirSync(dist, { recursive: true });
    } catch {
      continue;
    }
    for (const entry of entries) if (String(entry).endsWith(".test.js")) files.push(join(dist, String(entry)));
  }
  return files.sort();
}

// Every runner's process group, killed together on Ctrl-C or SIGTERM.
const groups = new Set();
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    for (const pid of groups) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    process.exit(signal === "SIGINT" ? 130 : 143);
  });
}

/**
 * Runs a command in its own process group, killed as a group after `limitMs`; stdio inherited, or
 * with `capture` its output kept and returned (stdout and stderr in the order they came), with the
 * seconds it took. With `background` it runs at a lower CPU priority (nice 10), and so do the
 * processes it starts (they inherit it).
 */
function runWithin(limitMs, command, args, { cwd = root, env = process.env, capture = false, background = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: capture ? ["ignore", "pipe", "pipe"] : "inherit", detached: true });
    if (background && child.pid !== undefined) {
      try {
        setPriority(child.pid, constants.priority.PRIORITY_BELOW_NORMAL);
      } catch (error) {
        say(`could not lower the priority of ${command} (${error.message}); it runs at the normal one`);
      }
    }
    const started = performance.now();
    groups.add(child.pid);
    let output = "";
    if (capture) for (const stream of [child.stdout, child.stderr]) stream.on("data", (chunk) => (output += chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      process.kill(-child.pid, "SIGKILL");
    }, limitMs);
    child.on("error", reject);
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      groups.delete(child.pid);
      resolve({ status, signal, timedOut, output, seconds: Math.round((performance.now() - started) / 1000) });
    });
  });
}

async function typescriptTests() {
  const files = testFiles();
  if (files.length === 0) return ["no TypeScript test files were found (did the build run?)"];
  say(`TypeScript: ${files.length} test files`);
  // Limits so that a hung test fails the run with a reason instead of running into CI's own limit:
  // one test may take 15 minutes, the whole TypeScript suite 40 (it takes about 26-29 on 2 cores). Each
  // file runs in its own process and counts as one test: the longest, cli.test.js, takes about 7.5
  // minutes on a quiet machine and went past 10 with a training beside it. The runner gets its own
  // process group so that a time-out also stops the processes its tests started.
  const result = await runWithin(40 * 60_000, process.execPath, ["--test", "--test-concurrency=1", "--test-timeout=900000", ...files]);
  say(`TypeScript tests ended in ${result.seconds} s`);
  if (result.timedOut) return ["TypeScript tests did not finish within 40 minutes (a test or a process it started hung)"];
  if (result.status !== 0) return [`TypeScript tests failed (exit ${result.status ?? result.signal})`];
  return [];
}

async function engineTests(alongside) {
  const { engineEnvironment } = await import(join(root, "packages/core/dist/engine/environment.js"));
  const environment = engineEnvironment(root);
  say(`engine (pytest) in ${environment.directory}${alongside ? ", beside the TypeScript tests on one torch thread at a lower CPU priority; its output follows when it ends" : ""}`);
  const env = { ...process.env, PYTHONPATH: environment.engineSource, ...(alongside ? { OMP_NUM_THREADS: "1", MKL_NUM_THREADS: "1" } : {}) };
  // --durations: the slowest tests in every run's log, where CI's time goes.
  const result = await runWithin(30 * 60_000, environment.python, ["-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=8", join(root, "engine", "tests")], {
    cwd: join(root, "engine"),
    env,
    capture: alongside,
    background: alongside,
  });
  if (result.timedOut) return { result, failures: ["engine tests did not finish within 30 minutes"] };
  if (result.status === 5) return { result, failures: ["pytest collected no tests: the engine suite is missing or broken"] };
  if (result.status !== 0) return { result, failures: [`engine tests failed (exit ${result.status ?? result.signal})`] };
  return { result, failures: [] };
}

const [typescript, engine] = await Promise.all([
  only === "py" ? [] : typescriptTests(),
  only === "ts" ? { failures: [] } : engineTests(only !== "py"),
]);
if (engine.result?.output) {
  // Captured beside the TypeScript suite: shown after its output, not in the middle of it.
  say(`engine (pytest) output, ended in ${engine.result.seconds} s:`);
  process.stderr.write(engine.result.output);
}
const failures = [...typescript, ...engine.failures];

if (failures.length > 0) {
  for (const failure of failures) say(`FAILED: ${failure}`);
  process.exit(1);
}
say("all test suites passed");

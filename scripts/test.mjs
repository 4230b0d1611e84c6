#!/usr/bin/env node
// Runs every test: the TypeScript suites (node's test runner over the built *.test.js files) and the
// engine's pytest suite in the engine environment. Fails if either fails, or if pytest collected no
// test at all (its exit 5 would otherwise look like "nothing wrong").
import { spawn, spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
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

/** Runs a command (stdio inherited) in its own process group, killed as a group after `limitMs`. */
function runWithin(limitMs, command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: "inherit", detached: true });
    let timedOut = false;
    const interrupt = (signal) => {
      process.kill(-child.pid, "SIGKILL");
      process.exit(signal === "SIGINT" ? 130 : 143);
    };
    process.once("SIGINT", interrupt);
    process.once("SIGTERM", interrupt);
    const timer = setTimeout(() => {
      timedOut = true;
      process.kill(-child.pid, "SIGKILL");
    }, limitMs);
    child.on("error", reject);
    child.on("exit", (status, signal) => {
      clearTimeout(timer);
      process.off("SIGINT", interrupt);
      process.off("SIGTERM", interrupt);
      resolve({ status, signal, timedOut });
    });
  });
}

const failures = [];

if (only !== "py") {
  const files = testFiles();
  if (files.length === 0) failures.push("no TypeScript test files were found (did the build run?)");
  else {
    say(`TypeScript: ${files.length} test files`);
    // Limits so that a hung test fails the run with a reason instead of running into CI's own limit:
    // one test may take 15 minutes, the whole TypeScript suite 40 (it takes about 20 on 2 cores). Each
    // file runs in its own process and counts as one test: the longest, cli.test.js, takes about 7.5
    // minutes on a quiet machine and went past 10 with a training beside it. The runner gets its own
    // process group so that a time-out also stops the processes its tests started.
    const result = await runWithin(40 * 60_000, process.execPath, ["--test", "--test-concurrency=1", "--test-timeout=900000", ...files]);
    if (result.timedOut) failures.push("TypeScript tests did not finish within 40 minutes (a test or a process it started hung)");
    else if (result.status !== 0) failures.push(`TypeScript tests failed (exit ${result.status ?? result.signal})`);
  }
}

if (only !== "ts") {
  const { engineEnvironment } = await import(join(root, "packages/core/dist/engine/environment.js"));
  const environment = engineEnvironment(root);
  say(`engine (pytest) in ${environment.directory}`);
  const result = spawnSync(environment.python, ["-m", "pytest", "-q", "-p", "no:cacheprovider", join(root, "engine", "tests")], {
    cwd: join(root, "engine"),
    stdio: "inherit",
    env: { ...process.env, PYTHONPATH: environment.engineSource },
    timeout: 20 * 60_000,
    killSignal: "SIGKILL",
  });
  if (result.error?.code === "ETIMEDOUT") failures.push("engine tests did not finish within 20 minutes");
  else if (result.status === 5) failures.push("pytest collected no tests: the engine suite is missing or broken");
  else if (result.status !== 0) failures.push(`engine tests failed (exit ${result.status ?? result.signal})`);
}

if (failures.length > 0) {
  for (const failure of failures) say(`FAILED: ${failure}`);
  process.exit(1);
}
say("all test suites passed");

#!/usr/bin/env node
// Runs every test: the TypeScript suites (node's test runner over the built *.test.js files) and the
// engine's pytest suite in the engine environment. Fails if either fails, or if pytest collected no
// test at all (its exit 5 would otherwise look like "nothing wrong").
import { spawnSync } from "node:child_process";
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

const failures = [];

if (only !== "py") {
  const files = testFiles();
  if (files.length === 0) failures.push("no TypeScript test files were found (did the build run?)");
  else {
    say(`TypeScript: ${files.length} test files`);
    const result = spawnSync(process.execPath, ["--test", "--test-concurrency=1", ...files], { cwd: root, stdio: "inherit" });
    if (result.status !== 0) failures.push(`TypeScript tests failed (exit ${result.status ?? result.signal})`);
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
  });
  if (result.status === 5) failures.push("pytest collected no tests: the engine suite is missing or broken");
  else if (result.status !== 0) failures.push(`engine tests failed (exit ${result.status ?? result.signal})`);
}

if (failures.length > 0) {
  for (const failure of failures) say(`FAILED: ${failure}`);
  process.exit(1);
}
say("all test suites passed");

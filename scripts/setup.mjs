#!/usr/bin/env node
// Brings a fresh clone to a runnable state, saying what it does: Node packages (npm ci), the
// TypeScript build, and the engine's Python environment (reused when already installed).
// Plain Node, no dependencies: it runs before anything is installed.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const say = (line) => console.error(`[setup] ${line}`);

function run(command, args, what) {
  say(what);
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit", env: process.env });
  if (result.status !== 0) {
    say(`failed: ${command} ${args.join(" ")} (exit ${result.status ?? result.signal})`);
    process.exit(result.status || 1);
  }
}

const [major] = process.versions.node.split(".").map(Number);
if (major < 20) {
  say(`Node.js ${process.versions.node} is too old: reviewtune needs Node 20 or newer`);
  process.exit(1);
}

const lock = join(root, "package-lock.json");
const installed = join(root, "node_modules", ".package-lock.json");
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  run("npm", ["ci", "--no-audit", "--no-fund"], "installing Node packages (npm ci)");
} else {
  say("Node packages up to date");
}

run(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-b"], "building TypeScript (tsc -b)");

// The engine environment (torch, transformers, peft, trl + the embedded model), once per machine.
run(process.execPath, [join(root, "packages", "cli", "dist", "bin.js"), "setup"], "checking the engine's Python environment");

// The evaluation report's test (report.html) and the studio's end-to-end tests run a real headless browser: Debian's
// chromium driven by playwright-core (never `npx playwright install`, which downloads browsers).
// Installed with apt-get when missing and we are root (CI's fresh machine); otherwise we say how.
const chromium = process.env.REVIEWTUNE_CHROMIUM ?? "/usr/bin/chromium";
if (existsSync(chromium)) {
  say(`headless browser for the report and studio tests: ${chromium}`);
} else if (process.getuid?.() === 0 && existsSync("/usr/bin/apt-get")) {
  run("apt-get", ["update", "-qq"], "chromium is missing: apt-get update");
  run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "chromium"], "installing chromium (apt-get install chromium) for the report.html and studio browser tests");
} else {
  say(`${chromium} is missing and this is not a root Debian/Ubuntu shell: the report.html and studio browser tests will fail; install chromium (sudo apt-get install chromium) or set REVIEWTUNE_CHROMIUM to a Chromium binary`);
}

// TCMalloc for the engine (decision 0019): PyTorch's CPU training keeps far less memory resident with
// it than with glibc's malloc. Whether the engine finds it is core's own rule (engine/allocator.ts,
// built above); Debian's libtcmalloc-minimal4 is installed like chromium where it is missing.
const { engineAllocator } = await import(pathToFileURL(join(root, "packages", "core", "dist", "engine", "allocator.js")).href);
const allocator = engineAllocator({});
if (allocator.name === "tcmalloc") {
  say(`memory allocator for the engine: TCMalloc (${allocator.library})`);
} else if (process.platform !== "linux") {
  // preloading an allocator is done on Linux only
} else if (process.getuid?.() === 0 && existsSync("/usr/bin/apt-get")) {
  // Not fatal: everything works without it, only with more memory.
  say("installing TCMalloc (apt-get install libtcmalloc-minimal4) for the engine's memory");
  const install = () => spawnSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "libtcmalloc-minimal4"], { cwd: root, stdio: "inherit" }).status === 0;
  if (!install() && !(spawnSync("apt-get", ["update", "-qq"], { cwd: root, stdio: "inherit" }).status === 0 && install())) {
    say("could not install libtcmalloc-minimal4: the engine runs with glibc's malloc (more memory resident while training)");
  }
} else {
  say(`${allocator.reason}; this is not a root Debian/Ubuntu shell, so install it yourself (sudo apt-get install libtcmalloc-minimal4)`);
}

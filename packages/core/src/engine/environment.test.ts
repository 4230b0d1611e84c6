// The engine environment is created where it lives, so its scripts (pip, bin/activate) work, under a
// lock against a second installer. The package step is replaced here (the real one downloads
// gigabytes); the venv, the lock and the completion marker are the real ones.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ensureEngineEnvironment, isEnvironmentReady } from "./environment.js";

const previous = process.env.REVIEWTUNE_ENGINE_ENV;
afterEach(() => {
  if (previous === undefined) delete process.env.REVIEWTUNE_ENGINE_ENV;
  else process.env.REVIEWTUNE_ENGINE_ENV = previous;
});

describe("ensureEngineEnvironment", () => {
  it("creates the environment in place: its own pip runs, bin/activate names it; two installers install once", async () => {
    const directory = join(mkdtempSync(join(tmpdir(), "reviewtune-env-")), "engine-env");
    process.env.REVIEWTUNE_ENGINE_ENV = directory;
    let installs = 0;
    const installPackages = async () => {
      installs += 1;
      await sleep(300); // long enough for the second installer to find the lock taken
    };
    const lines: string[] = [];
    const [first, second] = await Promise.all([
      ensureEngineEnvironment({ installPackages, log: (line) => lines.push(line) }),
      ensureEngineEnvironment({ installPackages, log: (line) => lines.push(line) }),
    ]);
    assert.equal(installs, 1, lines.join("\n"));
    assert.equal(first.directory, directory);
    assert.equal(second.directory, directory);
    assert.ok(lines.some((line) => /another installation \(pid \d+\) is creating/.test(line)), lines.join("\n"));
    assert.ok(isEnvironmentReady());
    assert.equal(existsSync(`${directory}.lock`), false);
    // The scripts pip installed hold the path they were made at: it must be this one.
    const pip = spawnSync(join(directory, "bin", "pip"), ["--version"], { encoding: "utf8" });
    assert.equal(pip.status, 0, pip.stderr);
    assert.match(pip.stdout, new RegExp(`${directory}/lib/python`));
    assert.ok(readFileSync(join(directory, "bin", "activate"), "utf8").includes(directory));
  });

  it("takes over a lock whose installer died, and leaves nothing behind when the install fails", async () => {
    const directory = join(mkdtempSync(join(tmpdir(), "reviewtune-env-")), "engine-env");
    process.env.REVIEWTUNE_ENGINE_ENV = directory;
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout;
    writeFileSync(`${directory}.lock`, `${dead}\n`);
    const failing = async () => {
      throw new Error("no network");
    };
    await assert.rejects(ensureEngineEnvironment({ installPackages: failing, log: () => {} }), /no network/);
    assert.equal(existsSync(directory), false, "a half-made environment is removed");
    assert.equal(existsSync(`${directory}.lock`), false);
    assert.equal(isEnvironmentReady(), false);
  });
});

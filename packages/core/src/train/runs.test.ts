// A run's heartbeat: run.json says "running" until the engine answers, so whether a run is really
// being trained is told by the process that trains it, in heartbeat.json.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { RUN_FORMAT } from "@reviewtune/contracts";
import { runRecordFixture } from "@reviewtune/contracts/testing";
import type { EngineClient } from "../engine/client.js";
import { DataError } from "../errors.js";
import { runPath } from "./run-folder.js";
import { interruptedBecause, readRunRecord, requireFinished, startHeartbeat, writeRunRecord, type RunRecord } from "./runs.js";
import { resumeRun } from "./train-run.js";

/** A whole run.json as `reviewtune train` writes it when a run starts. */
const runRecord = (directory: string): RunRecord =>
  runRecordFixture({ id: "r1", versions: { node: process.version }, data: { source: "test", train_rows: 1, validation_rows: 0, hash: "x", train_file: join(directory, "missing.jsonl"), validation_file: null } });

const folder = () => mkdtempSync(join(tmpdir(), "reviewtune-run-"));
const deadPid = () => Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout);
const beat = (directory: string, pid: number, host: string, secondsAgo: number) =>
  writeFileSync(runPath(directory, "heartbeat"), JSON.stringify({ pid, host, time: new Date(Date.now() - secondsAgo * 1000).toISOString() }));

describe("run heartbeat", () => {
  it("a running run is interrupted when no process beats for it, its process is gone, or it fell silent", () => {
    const directory = folder();
    const running = { status: "running" as const };
    assert.equal(interruptedBecause(directory, running), "no training process is recorded for it");
    beat(directory, process.pid, hostname(), 1);
    assert.equal(interruptedBecause(directory, running), undefined);
    const dead = deadPid();
    beat(directory, dead, hostname(), 1);
    assert.equal(interruptedBecause(directory, running), `its training process (pid ${dead}) is gone`);
    beat(directory, 1, "another-host", 300); // a pid on another machine cannot be checked: its silence decides
    assert.match(interruptedBecause(directory, running) ?? "", /pid 1 on another-host\) has been silent for 300 s/);
    beat(directory, 1, "another-host", 5);
    assert.equal(interruptedBecause(directory, running), undefined);
    assert.equal(interruptedBecause(join(directory, "nothing"), { status: "cancelled" }), undefined);
    // What eval and export say of such a run.
    rmSync(runPath(directory, "heartbeat"));
    assert.throws(() => requireFinished({ id: "r1", status: "running", result: null } as unknown as RunRecord, directory), {
      message: "run r1 has not finished (status: interrupted, no training process is recorded for it)",
      hint: `it has no complete checkpoint to resume from: train again with the same command (its settings are under "config" in ${runPath(directory, "record")})`,
    });
    // A run whose process still beats is training: wait for it, not resume or retrain it.
    beat(directory, process.pid, hostname(), 1);
    assert.throws(() => requireFinished({ id: "r1", status: "running", result: null } as unknown as RunRecord, directory), {
      message: `run r1 is still training (its process beats in ${runPath(directory, "heartbeat")})`,
      hint: /^wait until it finishes/,
    });
    rmSync(runPath(directory, "heartbeat"));
    // With complete checkpoints, the last one is where --resume continues; a half-written one does not count.
    for (const [step, complete] of [[4, true], [8, true], [12, false]] as const) {
      mkdirSync(join(runPath(directory, "checkpoints"), `checkpoint-${step}`), { recursive: true });
      if (complete) writeFileSync(join(runPath(directory, "checkpoints"), `checkpoint-${step}`, "reviewtune-complete.json"), "{}");
    }
    const failed = { id: "r2", status: "failed", result: null, error: { message: "out of memory" } } as unknown as RunRecord;
    assert.throws(() => requireFinished(failed, directory), {
      message: "run r2 has not finished (status: failed: out of memory)",
      hint: `resume it from its checkpoint at step 8: reviewtune train --resume ${directory}`,
    });
  });

  it("startHeartbeat records this process and its stop removes the file", () => {
    const directory = folder();
    const stop = startHeartbeat(directory);
    const heartbeat = JSON.parse(readFileSync(runPath(directory, "heartbeat"), "utf8"));
    assert.equal(heartbeat.pid, process.pid);
    assert.equal(heartbeat.host, hostname());
    stop();
    assert.equal(existsSync(runPath(directory, "heartbeat")), false);
  });

  it("--resume refuses a run another live process is training, and takes one whose process died", async () => {
    const directory = folder();
    writeRunRecord(directory, runRecord(directory));
    beat(directory, process.pid, hostname(), 1);
    const engine = {} as EngineClient; // never reached: both cases stop before training
    await assert.rejects(resumeRun(directory, { engine }), /run r1 is still being trained by another process/);
    beat(directory, deadPid(), hostname(), 1);
    await assert.rejects(resumeRun(directory, { engine }), /missing.jsonl is missing, so the run cannot resume/);
  });
});

describe("run.json", () => {
  it("is written through its schema and read back whole; a record without `format` (older) reads as the current version", () => {
    const directory = folder();
    const record = runRecord(directory);
    writeRunRecord(directory, record);
    const read = readRunRecord(directory);
    assert.equal(read.format, RUN_FORMAT);
    assert.deepEqual({ ...read, updated: record.updated }, record);
    const { format: _format, ...older } = JSON.parse(readFileSync(runPath(directory, "record"), "utf8"));
    writeFileSync(runPath(directory, "record"), JSON.stringify(older));
    assert.equal(readRunRecord(directory).format, RUN_FORMAT);
  });

  it("refuses to write a record its schema rejects, and names the file and field of one it cannot read", () => {
    const directory = folder();
    assert.throws(() => writeRunRecord(directory, { ...runRecord(directory), attempts: 0 }), /attempts/);
    assert.equal(existsSync(runPath(directory, "record")), false, "nothing half-valid is written");
    writeFileSync(runPath(directory, "record"), JSON.stringify({ ...runRecord(directory), seed: "42" }));
    assert.throws(() => readRunRecord(directory), (error: unknown) => error instanceof DataError && error.message.includes(runPath(directory, "record")) && /seed/.test(error.message));
  });

  it("refuses a record of another format by its version, not by its first differing field", () => {
    const directory = folder();
    writeFileSync(runPath(directory, "record"), JSON.stringify({ format: "reviewtune-run/2", id: "r1", shape: "new" }));
    assert.throws(() => readRunRecord(directory), {
      message: `${runPath(directory, "record")} is a "reviewtune-run/2" record; this version of reviewtune reads "${RUN_FORMAT}"`,
    });
  });
});

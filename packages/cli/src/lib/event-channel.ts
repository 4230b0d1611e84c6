// `train --events ipc|FILE`: machine-readable events (contracts TrainChannelEvent) for a program that
// runs the command as a child, beside the human output on stdout and stderr: over Node's IPC channel
// (a parent that spawned it with stdio "ipc", as the studio does) or as JSON lines appended to a file
// (a FIFO works). A file descriptor number is not offered: in a Node process the low numbers are the
// runtime's own pipes and event fds whenever the parent did not pass one.
import { closeSync, openSync, writeSync } from "node:fs";
import { ConfigError, ReviewtuneError } from "@reviewtune/core";
import { TrainChannelEventSchema, type TrainChannelEvent } from "@reviewtune/contracts";
import { exitCodeFor } from "../exit.js";

export interface EventSink {
  (event: TrainChannelEvent): void;
  close(): void;
}

/** A writer of events to `target` ("ipc" or a file path); once the reader is gone, events are dropped and the command goes on. */
export function eventChannel(target: string): EventSink {
  if (target === "ipc") {
    const send = process.send?.bind(process);
    if (!send) {
      throw new ConfigError("--events ipc: this process has no IPC channel", [], {
        hint: "start it from Node with an \"ipc\" entry in stdio (child_process.spawn or fork), or give --events a file path",
      });
    }
    const sink = ((event: TrainChannelEvent) => {
      if (process.connected) send(TrainChannelEventSchema.parse(event), undefined, {}, () => {}); // an error means the parent left
    }) as EventSink;
    sink.close = () => {};
    return sink;
  }
  let fd: number | undefined;
  try {
    fd = openSync(target, "a");
  } catch (error) {
    throw new ConfigError(`--events ${target}: cannot open it for writing (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, [], { hint: "give a writable file path (or a FIFO a reader has open), or ipc" });
  }
  const sink = ((event: TrainChannelEvent) => {
    if (fd === undefined) return;
    try {
      writeSync(fd, `${JSON.stringify(TrainChannelEventSchema.parse(event))}\n`);
    } catch {
      sink.close(); // the reader of a FIFO went away: the command goes on without it
    }
  }) as EventSink;
  sink.close = () => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  };
  return sink;
}

/** The `error` event of a failure: what the command prints as `error:` and `hint:`, and its exit code. */
export function errorEvent(error: unknown): TrainChannelEvent {
  return {
    event: "error",
    message: (error as Error)?.message ?? String(error),
    hint: ReviewtuneError.isInstance(error) ? (error.hint ?? null) : null,
    code: typeof (error as { code?: unknown })?.code === "string" ? (error as { code: string }).code : null,
    exit_code: exitCodeFor(error),
  };
}

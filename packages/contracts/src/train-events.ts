// What `reviewtune train --events ipc|FILE` sends (over Node's IPC channel, or as one JSON object per
// line appended to FILE), for a program that starts the CLI as a child (the studio) and must learn
// the run's folder and a failure's message without reading the human output or watching the runs folder.
import { z } from "zod";
import { RUN_STATUSES } from "./vocabulary.js";

export const TrainChannelEventSchema = z.discriminatedUnion("event", [
  /** The run's folder exists (a new run: once run.json is written; a resume: at the start). */
  z.strictObject({ event: z.literal("run"), id: z.string().min(1), dir: z.string().min(1) }),
  /** The command failed: the message and hint it prints as `error:` and `hint:`, and its exit code. */
  z.strictObject({ event: z.literal("error"), message: z.string(), hint: z.string().nullable(), code: z.string().nullable(), exit_code: z.number().int() }),
  /** Training ended (completed, early_stopped, cancelled or failed, as in run.json). */
  z.strictObject({ event: z.literal("done"), id: z.string().min(1), status: z.enum(RUN_STATUSES) }),
]);
export type TrainChannelEvent = z.infer<typeof TrainChannelEventSchema>;

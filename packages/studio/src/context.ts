// What every studio route shares: the folders it reads, the model it answers with, the trainer, and
// the /v1 server it sits on.
import { resolve } from "node:path";
import type { ReviewtuneServer } from "@reviewtune/server";
import { StudioApiError } from "./http/studio-error.js";
import { DatasetStore } from "./datasets/dataset-store.js";
import type { Trainer } from "./training/trainer.js";

export interface StudioContext {
  runsDir: string;
  model: string;
  datasets: DatasetStore;
  trainer: Trainer;
  server: ReviewtuneServer;
  /** Set when the engine could not be started: what went wrong and what to do. */
  engineProblem: { problem: string; fix: string } | null;
  references: string | null;
}

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$/;

/** A run's folder from its id; ids never carry a path. */
export function runFolder(context: StudioContext, id: string): string {
  if (!RUN_ID.test(id) || id.includes("..")) throw new StudioApiError(400, "invalid_request", `"${id}" is not a run id`, { hint: "pick a run from the list" });
  return resolve(context.runsDir, id);
}

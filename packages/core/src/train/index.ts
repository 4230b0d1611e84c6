// Training runs: the run folder and its files, run.json, starting and resuming.
// The names other packages use; the rest of the folder is internal to core.
export { formatMethodTable } from "./method-report.js";
export { runPath, isRunFolder, listRunIds, runAdapterDir, runModel, readRunMetrics } from "./run-folder.js";
export { newRunId, interruptedBecause, requireFinished, readRunRecord } from "./runs.js";
export type { FinishedRunRecord, RunRecord } from "./runs.js";
export { startRun, resumeRun } from "./train-run.js";

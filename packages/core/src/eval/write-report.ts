// Writes <out>/report.{json,md,html} together: staged in a sibling folder, then renamed into place,
// so a folder named eval/ always holds one complete, consistent report.
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../errors.js";
import { readJsonFile, stagingPath } from "../files.js";
import { requireRunFolder } from "../train/runs.js";
import { runPath } from "../train/run-folder.js";
import { EvalReportSchema, type EvalReport } from "@reviewtune/contracts";
import { renderHtml } from "./report-html.js";
import { renderMarkdown } from "./report-markdown.js";

export const REPORT_FILES = { json: "report.json", markdown: "report.md", html: "report.html" } as const;

/** An evaluated run's report.json: a wrong --run, or a run never evaluated, said with what to do. */
export function readEvalReport(runDirectory: string): EvalReport {
  requireRunFolder(runDirectory);
  const file = runPath(runDirectory, "evalReport");
  if (!existsSync(file)) throw new ConfigError(`${runDirectory} has no evaluation (${file})`, [], { hint: `evaluate it first: reviewtune eval --run ${runDirectory}` });
  return readJsonFile(file, EvalReportSchema, `re-run reviewtune eval --run ${runDirectory}`);
}

export function writeEvalReport(directory: string, report: EvalReport): Record<keyof typeof REPORT_FILES, string> {
  const checked = EvalReportSchema.parse(report); // the studio reads this file: never write one that does not validate
  const staging = stagingPath(directory);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  writeFileSync(join(staging, REPORT_FILES.markdown), renderMarkdown(checked));
  writeFileSync(join(staging, REPORT_FILES.html), renderHtml(checked));
  writeFileSync(join(staging, REPORT_FILES.json), `${JSON.stringify(checked, null, 2)}\n`);
  const previous = `${staging}-previous`;
  if (existsSync(directory)) renameSync(directory, previous);
  renameSync(staging, directory);
  rmSync(previous, { recursive: true, force: true });
  return {
    json: join(directory, REPORT_FILES.json),
    markdown: join(directory, REPORT_FILES.markdown),
    html: join(directory, REPORT_FILES.html),
  };
}

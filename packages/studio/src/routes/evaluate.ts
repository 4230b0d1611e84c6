// /studio/api/runs/:id/report and /human: the evaluation report as `reviewtune eval` wrote it, and
// blind A/B rating that feeds the tuned model's win rate.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { EvalReportSchema, HumanRateRequestSchema, TextEvalReportSchema, parseJson, type StudioReportResponse, type StudioTextReportResponse } from "@reviewtune/contracts";
import { z } from "zod";

/** Answers shown side by side (the page reads them all at once). */
const TEXT_ANSWERS_SHOWN = 50;
const TextAnswerLineSchema = z.object({ task: z.string(), prompt: z.string(), reference: z.string(), answers: z.record(z.string(), z.string()) });
import { HEADLINE_ROWS, runPath } from "@reviewtune/core";
import { parseInput, StudioApiError } from "../http/studio-error.js";
import { humanState, rate } from "../evaluate/human-ratings.js";
import { runFolder, type StudioContext } from "../context.js";

export function registerEvaluateRoutes(app: FastifyInstance, context: StudioContext): void {
  app.get<{ Params: { id: string } }>("/runs/:id/report", async (request): Promise<StudioReportResponse> => {
    const folder = runFolder(context, request.params.id);
    const file = runPath(folder, "evalReport");
    if (!existsSync(file)) throw new StudioApiError(404, "no_report", `run ${request.params.id} has not been evaluated`, { hint: `evaluate it: reviewtune eval --run ${folder}` });
    const report = parseJson(readFileSync(file, "utf8"), EvalReportSchema, file);
    const headline = { systems: report.systems.map((system) => system.name), rows: HEADLINE_ROWS.map((row) => ({ label: row.label, figures: report.systems.map(row.figure) })) };
    return { report, headline };
  });
  app.get<{ Params: { id: string } }>("/runs/:id/text-report", async (request): Promise<StudioTextReportResponse> => {
    const folder = runFolder(context, request.params.id);
    const file = runPath(folder, "textReport");
    if (!existsSync(file)) throw new StudioApiError(404, "no_report", `run ${request.params.id} has no text evaluation`, { hint: `evaluate it: reviewtune eval --run ${folder}` });
    const report = parseJson(readFileSync(file, "utf8"), TextEvalReportSchema, file);
    const answersFile = runPath(folder, "textAnswers");
    const lines = existsSync(answersFile) ? readFileSync(answersFile, "utf8").split("\n").filter((line) => line.trim()) : [];
    const answers = lines.slice(0, TEXT_ANSWERS_SHOWN).map((line) => parseJson(line, TextAnswerLineSchema, answersFile));
    return { report, answers, total_answers: lines.length };
  });
  app.get<{ Params: { id: string } }>("/runs/:id/human", async (request) => humanState(runFolder(context, request.params.id)));
  app.post<{ Params: { id: string } }>("/runs/:id/human", async (request) => rate(runFolder(context, request.params.id), parseInput(HumanRateRequestSchema, request.body)));
}

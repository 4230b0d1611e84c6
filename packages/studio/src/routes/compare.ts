// /studio/api/compare: runs loaded as adapters (named by run id) so the UI can ask the studio's own
// /v1/chat/completions and /v1/analyze for the base model and each run; held-out prompts and reviews
// to ask them; the rule-based analyzer's analysis as the baseline card beside theirs.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { CompareLoadRequestSchema, InstructionRowSchema, RuleBasedAnalyzeRequestSchema, parseJson, type CompareLoadResponse, type ReviewAnalysis, type TestPrompt, type TestReview } from "@reviewtune/contracts";
import { datasetPath, isRunFolder, loadAnalysisItems, readRunRecord, ruleBasedAnalysis, runAdapterDir } from "@reviewtune/core";
import { groundingDataset } from "@reviewtune/server";
import { parseInput, StudioApiError } from "../http/studio-error.js";
import { runFolder, type StudioContext } from "../context.js";


export function registerCompareRoutes(app: FastifyInstance, context: StudioContext): void {
  app.post("/compare/models", async (request, reply): Promise<CompareLoadResponse> => {
    const body = parseInput(CompareLoadRequestSchema, request.body);
    if (context.engineProblem) throw new StudioApiError(503, "engine_not_ready", context.engineProblem.problem, { hint: context.engineProblem.fix });
    const folder = runFolder(context, body.run);
    if (!isRunFolder(folder)) throw new StudioApiError(404, "not_found", `run ${body.run} was not found`, { hint: "pick a finished run from the list" });
    const record = readRunRecord(folder);
    if (!record.result?.adapter_dir) {
      throw new StudioApiError(400, "run_has_no_adapter", `run ${body.run} has no adapter (status ${record.status})`, { hint: record.status === "completed" ? "a fully fine-tuned run is served with `reviewtune serve --run`" : "finish (or resume) the run first" });
    }
    if (record.config.model.source !== context.model && record.config.model.source !== context.server.context.registry.baseId) {
      throw new StudioApiError(400, "other_base_model", `run ${body.run} was trained on ${record.config.model.source}, but this studio answers with ${context.model}`, { hint: `start the studio with --model ${record.config.model.source}` });
    }
    const existing = context.server.context.registry.list().find((entry) => entry.name === record.id);
    // A run trained with grounded prompts is asked as it was trained (its dataset folder's neighbours).
    // Indexed before the adapter is served, so it is never answered without its grounding.
    const grounding = existing ? undefined : groundingDataset(record);
    if (grounding) await context.server.context.addGrounding(record.id, grounding);
    const entry = existing ?? (await context.server.context.registry.load(record.id, runAdapterDir(folder, record.result.adapter_dir)));
    reply.code(existing ? 200 : 201);
    return { model: entry.name, status: entry.status, message: entry.error?.message ?? null };
  });

  app.get<{ Params: { id: string } }>("/runs/:id/test-prompts", async (request): Promise<TestPrompt[]> => {
    const folder = runFolder(context, request.params.id);
    const record = readRunRecord(folder);
    const dataset = record.config.data.train;
    const candidates = dataset ? [datasetPath(dataset, "test"), datasetPath(dataset, "validation")] : [];
    if (record.data?.validation_file) candidates.push(record.data.validation_file);
    const file = candidates.find((candidate) => existsSync(candidate) && readFileSync(candidate, "utf8").trim());
    if (!file) return [];
    return readFileSync(file, "utf8")
      .split("\n")
      .filter((line) => line.trim())
      .slice(0, 30)
      .flatMap((line, index) => {
        // Rendered {prompt, completion} rows (no messages) carry the template already: not a question to ask again.
        const row = parseJson(line, InstructionRowSchema, `${file}:${index + 1}`);
        const messages = "messages" in row ? row.messages : [];
        const user = messages.filter((message) => message.role === "user").at(-1)?.content;
        const answer = messages.filter((message) => message.role === "assistant").at(-1)?.content ?? "";
        return user ? [{ task: row.task ?? "", prompt: user, reference: answer }] : [];
      });
  });

  app.get<{ Params: { id: string } }>("/runs/:id/test-reviews", async (request): Promise<TestReview[]> => {
    const record = readRunRecord(runFolder(context, request.params.id));
    const dataset = record.config.data.train;
    if (!dataset) return [];
    // The test split's analysis examples joined with their reviews: the reviews the run never saw, with the gold the evaluation scores against.
    return loadAnalysisItems(dataset, { limit: 30 }).items.map((item) => ({
      id: item.group,
      text: item.review.text,
      title: item.review.title ?? null,
      category: item.review.category ?? null,
      gold: { stars: item.gold.stars ?? null, sentiment: item.gold.sentiment, quality: item.gold.quality, recommendation: item.gold.recommendation, aspects: item.gold.aspects },
    }));
  });

  app.post("/analyze/rule-based", async (request): Promise<ReviewAnalysis> => ruleBasedAnalysis(parseInput(RuleBasedAnalyzeRequestSchema, request.body)));
}

// POST /v1/analyze: the structured analysis (ReviewAnalysis) of up to 64 reviews in one request, in
// their order. Each review is asked exactly as the `analysis` task was trained (analysisPrompt), with
// decoding constrained to the analysis schema; the request goes through the same queue, time limit
// and adapter fallback as chat completions.
import type { FastifyInstance } from "fastify";
import { AnalyzeRequestSchema, parseAnalysis, type AnalysisList, type ServedBy } from "@reviewtune/contracts";
import { analysisGeneration, analysisPrompt } from "@reviewtune/core";
import { parseBody } from "../http/api-error.js";
import { checkContextLength } from "../http/context-length.js";
import { withRequestSignal } from "../http/request-signal.js";
import type { ServerContext } from "../server-context.js";

export function registerAnalyzeRoutes(app: FastifyInstance, context: ServerContext): void {
  app.post("/v1/analyze", async (request, reply) => {
    const body = parseBody(AnalyzeRequestSchema, request.body);
    const route = context.registry.route(body.model ?? context.registry.baseId);
    const servedBy: ServedBy = { backend: context.backend.name, adapter: route.adapter?.name ?? null, fallback: route.fallback };
    const prompts = body.reviews.map((review) => context.backend.renderChat([{ role: "user", content: analysisPrompt(review) }]));
    const result = await withRequestSignal(reply, context.options.requestTimeoutMs, (signal) =>
      context.enqueue(async (queued) => {
        const generation = analysisGeneration(body.reviews);
        await checkContextLength(context, prompts, generation.maxNewTokens, "reviews");
        const generated = await context.backend.generate({ adapterDir: route.adapter?.dir, prompts, ...generation, signal: queued });
        // A cancelled generation resolves with partial answers; the reason it was cancelled is the answer.
        if (queued.aborted) throw queued.reason;
        return generated;
      }, signal),
    );
    const promptTokens = result.outputs.reduce((sum, output) => sum + (output.prompt_tokens ?? 0), 0);
    const completionTokens = result.outputs.reduce((sum, output) => sum + output.new_tokens, 0);
    context.metrics.tokens.inc({ model: route.model, kind: "prompt" }, promptTokens);
    context.metrics.tokens.inc({ model: route.model, kind: "completion" }, completionTokens);
    const list: AnalysisList = {
      object: "list",
      model: route.model,
      data: body.reviews.map((review, index) => {
        const parsed = parseAnalysis(result.outputs[index]?.text ?? "");
        return { index, id: review.id ?? null, ...(parsed.ok ? { analysis: parsed.analysis } : { analysis: null, error: `the answer is not an analysis: ${parsed.error}` }) };
      }),
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
      reviewtune: servedBy,
    };
    return reply.headers({ "x-reviewtune-model": route.adapter?.name ?? "base", ...(route.fallback ? { "x-reviewtune-fallback": route.fallback.code } : {}) }).send(list);
  });
}

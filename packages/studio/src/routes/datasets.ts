// /studio/api/datasets: the dataset folders, their rows (paged, filtered), the exact training
// string of a row, the card and the rejected rows.
import type { FastifyInstance } from "fastify";
import { DatasetRowsQuerySchema, PageQuerySchema, RenderedRowQuerySchema, type RenderedRow } from "@reviewtune/contracts";
import { modelFolder, readChatTemplate } from "../model-files.js";
import { parseInput, StudioApiError } from "../http/studio-error.js";
import type { StudioContext } from "../context.js";

export function registerDatasetRoutes(app: FastifyInstance, context: StudioContext): void {
  app.get("/datasets", async () => context.datasets.list());
  app.get<{ Params: { name: string } }>("/datasets/:name/card", async (request) => {
    const card = context.datasets.card(request.params.name);
    if (!card) throw new StudioApiError(404, "no_card", `dataset "${request.params.name}" has no card.json`, { hint: "rebuild it with `reviewtune data build` (the card is written with the splits)" });
    return card;
  });
  app.get<{ Params: { name: string } }>("/datasets/:name/rows", async (request) => context.datasets.rows(request.params.name, parseInput(DatasetRowsQuerySchema, request.query)));
  app.get<{ Params: { name: string } }>("/datasets/:name/rejected", async (request) => {
    const page = parseInput(PageQuerySchema, request.query);
    return context.datasets.rejected(request.params.name, page.offset, page.limit);
  });
  app.get<{ Params: { name: string } }>("/datasets/:name/rendered", async (request): Promise<RenderedRow> => {
    const query = parseInput(RenderedRowQuerySchema, request.query);
    const model = query.model ?? context.model;
    const example = context.datasets.example(request.params.name, query.split, query.index);
    const folder = modelFolder(model);
    if (!folder) throw new StudioApiError(404, "model_not_local", `${model} has no local folder to read its chat template from`, { hint: "run `reviewtune setup` (prepares the embedded model) or start the studio with --model pointing at a local model folder" });
    if (!example.messages) return { model, prompt: example.prompt ?? "", completion: example.completion ?? "" };
    const template = readChatTemplate(folder);
    if (!template) throw new StudioApiError(400, "no_chat_template", `${model} has no chat template`, { hint: "use a chat (instruct) model or set data.template in the training config" });
    return { model, ...template.split(example.messages) };
  });
}

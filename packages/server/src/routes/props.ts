// What a front needs from this server when it serves as another's upstream (`serve --upstream`):
// GET /props (the chat template prompts are rendered with, and the context; llama-server's shape)
// and POST /tokenize (a text's token count; llama-server's and vLLM's request fields, vLLM's answer).
import type { FastifyInstance } from "fastify";
import { HttpTokenizeRequestSchema, type PropsResponse, type HttpTokenizeResponse } from "@reviewtune/contracts";
import type { ServerContext } from "../server-context.js";
import { parseBody } from "../http/api-error.js";

export function registerPropsRoutes(app: FastifyInstance, context: ServerContext): void {
  app.get("/props", async (): Promise<PropsResponse> => {
    const template = context.backend.chatTemplate;
    return {
      model: context.registry.baseId,
      chat_template: template?.source ?? null,
      bos_token: template?.tokens.bos_token ?? null,
      eos_token: template?.tokens.eos_token ?? null,
      default_generation_settings: { n_ctx: context.backend.contextLength ?? null },
    };
  });
  app.post("/tokenize", async (request): Promise<HttpTokenizeResponse> => {
    const body = parseBody(HttpTokenizeRequestSchema, request.body);
    const [count] = await context.backend.countTokens([body.content ?? body.prompt!]);
    return { count: count!, max_model_len: context.backend.contextLength ?? null };
  });
}

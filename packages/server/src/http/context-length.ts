// Refuses a prompt the model cannot take before any of it is computed: prompt tokens plus the answer's
// max_tokens past the backend's context, or prompt tokens past `serve --max-prompt-tokens`. Without
// it one huge prompt held the server for minutes (a 60k-token prompt on a 1,024-token context).
// The answer is OpenAI's: 400, code context_length_exceeded, naming the field to shorten.
import { ApiError } from "./api-error.js";
import type { ServerContext } from "../server-context.js";

/**
 * Counts each prompt's tokens with the backend's tokenizer and throws a 400 when one does not fit.
 * `param` is the request field the prompt came from ("messages", "prompt", "reviews").
 */
export async function checkContextLength(context: ServerContext, prompts: string[], maxTokens: number, param: string): Promise<void> {
  const contextLength = context.backend.contextLength;
  const promptLimit = context.options.maxPromptTokens;
  if (contextLength === undefined && promptLimit === undefined) return;
  const counts = await context.backend.countTokens(prompts);
  counts.forEach((tokens, index) => {
    const which = prompts.length > 1 ? `${param}[${index}]` : param;
    if (promptLimit !== undefined && tokens > promptLimit) {
      throw contextLengthExceeded(`${which} has ${tokens} tokens, over this server's limit of ${promptLimit} prompt tokens (serve --max-prompt-tokens); shorten it`, param);
    }
    if (contextLength !== undefined && tokens + maxTokens > contextLength) {
      throw contextLengthExceeded(
        `This model's maximum context length is ${contextLength} tokens. However, you requested ${tokens + maxTokens} tokens (${tokens} in ${which}, ${maxTokens} in the completion). Please reduce the length of ${which} or max_tokens.`,
        param,
      );
    }
  });
}

function contextLengthExceeded(message: string, param: string): ApiError {
  return new ApiError(400, "invalid_request_error", "context_length_exceeded", message, param);
}

// One abort signal per request: fired when the client disconnects before the answer is sent, or when
// the request outlives the server's time limit; the reason becomes the response (499-style, 504).
import type { FastifyReply } from "fastify";
import { ClientGoneError, RequestTimeoutError } from "./api-error.js";

export async function withRequestSignal<T>(reply: FastifyReply, timeoutMs: number, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onClose = () => !reply.raw.writableFinished && controller.abort(new ClientGoneError("the client disconnected"));
  reply.raw.on("close", onClose);
  const timer = setTimeout(() => controller.abort(new RequestTimeoutError(timeoutMs / 1000)), timeoutMs);
  try {
    return await run(controller.signal);
  } finally {
    clearTimeout(timer);
    reply.raw.off("close", onClose);
  }
}

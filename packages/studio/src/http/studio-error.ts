// The studio API's errors: each says what went wrong and what to do next (`hint`), and one handler
// (registered on the /studio/api scope) turns any error into `{ error: { message, code, hint } }`.
import { randomUUID } from "node:crypto";
import { ConfigError, DataError, EngineNotInstalledError, ReviewtuneError } from "@reviewtune/core";
import { ApiError } from "@reviewtune/server";
import { formatIssues, type StudioError as StudioErrorBody } from "@reviewtune/contracts";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import type { z } from "zod";

export class StudioApiError extends ReviewtuneError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options: { hint?: string; fields?: Record<string, string> } = {},
  ) {
    super(message, options.hint ? { hint: options.hint } : {});
    this.fields = options.fields;
  }
  readonly fields: Record<string, string> | undefined;
}

export const notFound = (what: string, hint: string) => new StudioApiError(404, "not_found", `${what} was not found`, { hint });

/** Validates input with a contracts schema; every problem is named by its field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const fields: Record<string, string> = {};
  for (const issue of parsed.error.issues) fields[issue.path.join(".") || "(request)"] ??= issue.message;
  throw new StudioApiError(400, "invalid_request", `invalid request: ${formatIssues(parsed.error, value ?? {}, schema).join("; ")}`, { hint: "correct the fields named and send again", fields });
}

export function studioErrorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
  const send = (status: number, code: string, message: string, hint: string | null, fields?: Record<string, string>) => {
    const body: StudioErrorBody = { error: { message, code, hint, ...(fields ? { fields } : {}) } };
    return reply.code(status).send(body);
  };
  if (error instanceof StudioApiError) return send(error.status, error.code, error.message, error.hint ?? null, error.fields);
  if (error instanceof ApiError) return send(error.status, error.code, error.message, null);
  if (error instanceof EngineNotInstalledError) return send(503, "engine_not_installed", error.message, error.hint ?? "run `npm run setup` (or `reviewtune setup`), then reload");
  if (error instanceof ConfigError || error instanceof DataError) return send(400, error instanceof DataError ? "data_error" : "config_error", error.message, error.hint ?? null);
  const fastifyError = error as FastifyError;
  if (typeof fastifyError.statusCode === "number" && fastifyError.statusCode < 500) return send(fastifyError.statusCode, "invalid_request", fastifyError.message, null);
  // To stderr as well: the studio's request logger is off unless --verbose, and the hint sends the
  // user to the terminal. The id ties the answer to the log line.
  const id = randomUUID().slice(0, 8);
  request.log.error({ err: error, errorId: id }, "studio request failed");
  console.error(`[studio] error ${id}: ${request.method} ${request.url.split("?")[0]} failed: ${error.stack ?? error.message}`);
  return send(500, "internal_error", `internal error ${id} (logged by the studio)`, `the terminal running \`reviewtune studio\` shows "error ${id}" with the details`);
}

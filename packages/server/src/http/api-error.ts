// HTTP errors and the one place any error becomes an OpenAI-style error body and a status code.
// Known errors carry their message to the client; anything else is a generic 500 and a log line.
import { EngineCrashedError, EngineRequestError, EngineTimeoutError, ReviewtuneError, UpstreamError } from "@reviewtune/core";
import { issueLine, issuesOf, type ApiErrorBody } from "@reviewtune/contracts";
import type { z } from "zod";

export class ApiError extends ReviewtuneError {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const invalidRequest = (message: string, param: string | null = null, code = "invalid_request") =>
  new ApiError(400, "invalid_request_error", code, message, param);

/** The bounded queue is full: come back later. */
export class QueueFullError extends ApiError {
  constructor(capacity: number, retryAfterSeconds: number) {
    super(429, "rate_limit_error", "queue_full", `the server is busy: ${capacity} requests are already waiting; retry in ${retryAfterSeconds}s`, null, {
      "retry-after": String(retryAfterSeconds),
    });
  }
}

/** The request ran longer than the server's per-request timeout; its generation was cancelled. */
export class RequestTimeoutError extends ApiError {
  constructor(seconds: number) {
    super(504, "timeout_error", "request_timeout", `the request did not finish within ${seconds}s and was cancelled; ask for fewer tokens (max_tokens) or retry`);
  }
}

/** The client went away; nothing is sent, the generation is cancelled. */
export class ClientGoneError extends ReviewtuneError {}

export class ServiceUnavailableError extends ApiError {
  constructor(code: string, message: string, retryAfterSeconds = 1) {
    super(503, "service_unavailable", code, message, null, { "retry-after": String(retryAfterSeconds) });
  }
}

/** Validates a request body with a contracts schema; the first problem's path becomes `param`. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  // Read once: the union and typo reading walk the schema.
  const issues = issuesOf(parsed.error, body ?? {}, schema);
  const first = issues[0];
  throw invalidRequest(`invalid request body: ${issues.map(issueLine).join("; ")}`, first && first.path.length > 0 ? first.path.join(".") : null);
}

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message?: string;
}

/** Any error to (status, headers, body). `log` receives errors the client must not see the details of. */
export function toHttpError(error: unknown, log: (error: unknown) => void): { status: number; headers: Record<string, string>; body: ApiErrorBody } {
  const body = (type: string, code: string, message: string, param: string | null = null): ApiErrorBody => ({ error: { message, type, param, code } });
  if (error instanceof ApiError) return { status: error.status, headers: error.headers, body: body(error.type, error.code, error.message, error.param) };
  if (error instanceof UpstreamError) {
    // The upstream's 4xx are the client's to fix (a context too long there); its failures are a 502.
    if (error.status >= 500) log(error);
    const type = error.status >= 500 ? "upstream_error" : "invalid_request_error";
    return { status: error.status, headers: error.status >= 500 ? { "retry-after": "2" } : {}, body: body(type, error.code, error.message, error.param) };
  }
  if (error instanceof EngineCrashedError || error instanceof EngineTimeoutError) {
    return {
      status: 503,
      headers: { "retry-after": "2" },
      body: body("service_unavailable", "engine_restarting", "the engine stopped while answering this request; it is being restarted: retry"),
    };
  }
  if (error instanceof EngineRequestError) {
    // A request the engine refused for what it asked (llama.cpp: a schema its grammar cannot express;
    // the engine: `bad_schema` from xgrammar) is the client's to fix: a 400 naming the field. The only
    // schema a client sends is `response_format`'s.
    if (error.code === "bad_schema") return { status: 400, headers: {}, body: body("invalid_request_error", error.code, error.message, "response_format") };
    if (error.code === "invalid_request") return { status: 400, headers: {}, body: body("invalid_request_error", error.code, error.message, error.field === "response_format" ? error.field : null) };
    log(error); // the server's failure, not the client's: logged with its stack (a 400 above is the client's to read)
    return { status: 500, headers: {}, body: body("server_error", error.code, `the engine could not answer (${error.code})`) };
  }
  // fastify's own errors: unparseable JSON, a body over the limit, a wrong content type.
  const fastifyError = error as FastifyLikeError;
  if (typeof fastifyError?.code === "string" && fastifyError.code.startsWith("FST_") && typeof fastifyError.statusCode === "number" && fastifyError.statusCode < 500) {
    const code = fastifyError.code === "FST_ERR_CTP_BODY_TOO_LARGE" ? "body_too_large" : fastifyError.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE" ? "unsupported_media_type" : "invalid_request";
    // fastify says only "Unsupported Media Type: text/plain" (curl -d sends form encoding unless told).
    const message = code === "unsupported_media_type" ? `${fastifyError.message ?? "unsupported media type"}: send the body as JSON with the header content-type: application/json` : (fastifyError.message ?? "bad request");
    return { status: fastifyError.statusCode, headers: {}, body: body("invalid_request_error", code, message) };
  }
  if ((error as SyntaxError)?.name === "SyntaxError" && (error as FastifyLikeError).statusCode === 400) {
    return { status: 400, headers: {}, body: body("invalid_request_error", "invalid_json", `the body is not valid JSON: ${(error as Error).message}`) };
  }
  log(error);
  return { status: 500, headers: {}, body: body("server_error", "internal_error", "internal server error (logged on the server)") };
}

// The one place errors become exit codes and messages. Internal errors show their stack only with
// REVIEWTUNE_DEBUG=1; known errors show their message and what to do next.
import { CancelledError, ConfigError, DataError, EngineNotInstalledError, EngineRequestError, ReviewtuneError, UsageError } from "@reviewtune/core";
import { printable } from "./printable.js";

export const EXIT = { ok: 0, failure: 1, usage: 2, config: 3, data: 4, engine: 5, cancelled: 130, brokenPipe: 141 } as const;

export function exitCodeFor(error: unknown): number {
  // Ctrl-C: our own CancelledError, or an AbortSignal's error where the work stopped at signal.throwIfAborted().
  if (error instanceof CancelledError || (error instanceof Error && error.name === "AbortError")) return EXIT.cancelled;
  if (error instanceof UsageError) return EXIT.usage;
  if (error instanceof ConfigError) return EXIT.config;
  if (error instanceof DataError) return EXIT.data;
  if (error instanceof EngineNotInstalledError) return EXIT.engine;
  if (error instanceof EngineRequestError) {
    // The engine found the problem, but it is still the user's input: the model or the data.
    if (["model_not_found", "model_unavailable", "offline", "model_load_failed", "corrupt_weights", "pickle_refused", "qlora_needs_cuda", "invalid_request", "not_a_classifier"].includes(error.code)) return EXIT.config;
    if (["data_not_found", "bad_data"].includes(error.code)) return EXIT.data;
  }
  return EXIT.failure;
}

export function reportError(error: unknown): void {
  // Messages quote user data (a header, a parser's view of a broken line): never raw to the terminal.
  if (ReviewtuneError.isInstance(error)) {
    console.error(`error: ${printable(error.message)}`);
    if (error.hint) console.error(`hint: ${printable(error.hint)}`);
  } else {
    console.error(`error: ${printable((error as Error)?.message ?? String(error))}`);
  }
  if (process.env.REVIEWTUNE_DEBUG === "1" && error instanceof Error) console.error(error.stack);
  process.exitCode = exitCodeFor(error);
}

// One error class per concern, each with structured fields; the CLI turns them into exit codes in
// exactly one place (packages/cli/src/exit.ts). `isInstance` works across package copies.
const marker = Symbol.for("reviewtune.error");

export class ReviewtuneError extends Error {
  readonly [marker] = true;
  /** What to do next, shown under the message. */
  readonly hint: string | undefined;
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }
  static isInstance(value: unknown): value is ReviewtuneError {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }
}

/** A config, preset or flag is wrong. `issues` are "path.to.field: message" lines. */
export class ConfigError extends ReviewtuneError {
  constructor(
    message: string,
    readonly issues: string[] = [],
    options: { hint?: string; cause?: unknown } = {},
  ) {
    super(issues.length > 0 ? `${message}\n  - ${issues.join("\n  - ")}` : message, options);
  }
}

/** A command was called wrongly: a required option missing, options that go together given alone (exit 2, as commander's own). */
export class UsageError extends ReviewtuneError {}

/** Input data (a file, a line) is wrong or missing. */
export class DataError extends ReviewtuneError {
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
    options: { hint?: string; cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

/** Python or the engine's environment is missing or broken. */
export class EngineNotInstalledError extends ReviewtuneError {}

/** The engine process exited while requests were pending (or before it was ready). */
export class EngineCrashedError extends ReviewtuneError {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly signal: string | null,
    readonly stderrTail: string[],
  ) {
    super(`${message}${stderrTail.length > 0 ? `\nlast engine output:\n  ${stderrTail.join("\n  ")}` : ""}`, { hint: crashHint(signal) });
  }
}

/** What to do after the engine died: a signal from outside is not a damaged environment. */
function crashHint(signal: string | null): string {
  const log = "REVIEWTUNE_VERBOSE=1 REVIEWTUNE_ENGINE_LOG=DEBUG shows the engine's whole log";
  if (signal === "SIGKILL") return `the engine was killed, most often by the system for want of memory (see dmesg): free memory or ask for less (a smaller model, batch or context); ${log}`;
  if (signal === "SIGTERM" || signal === "SIGINT" || signal === "SIGHUP") return `the engine was stopped from outside (${signal}), not by an error of its own: run the command again`;
  return `${log}; \`reviewtune setup --force\` rebuilds its environment if that is damaged`;
}

/** The engine did not answer in time; it has been stopped. */
export class EngineTimeoutError extends ReviewtuneError {
  constructor(
    message: string,
    readonly stderrTail: string[],
  ) {
    super(`${message}${stderrTail.length > 0 ? `\nlast engine output:\n  ${stderrTail.join("\n  ")}` : ""}`);
  }
}

/** The engine sent something that is not the protocol. */
export class EngineProtocolError extends ReviewtuneError {}

/** The engine answered a request with an error (bad model path, pickle refused, offline...). */
export class EngineRequestError extends ReviewtuneError {
  constructor(
    readonly code: string,
    message: string,
    readonly field: string | null | undefined,
    readonly file: string | null | undefined,
    hint: string | null | undefined,
  ) {
    super(message, hint ? { hint } : {});
  }
}

/** The user interrupted (Ctrl-C); whatever could be saved was saved. */
export class CancelledError extends ReviewtuneError {}

/**
 * Work the user may interrupt, whose result is only worth keeping whole (an evaluation's report):
 * once `signal` is aborted, however the work ends (an AbortError where a stage checks the signal, a
 * cancelled engine request or a dying engine's error, or a result from a stage that did not check),
 * the caller gets a CancelledError with `message` and writes nothing.
 */
export async function unlessInterrupted<T>(signal: AbortSignal, work: () => Promise<T>, message: string, hint?: string): Promise<T> {
  try {
    const result = await work();
    if (!signal.aborted) return result;
  } catch (error) {
    if (!signal.aborted) throw error;
  }
  throw new CancelledError(message, hint ? { hint } : {});
}

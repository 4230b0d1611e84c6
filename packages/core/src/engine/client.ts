// The Node side of the engine protocol: spawns the engine, waits for `ready`, sends validated
// requests and routes replies and streamed events by id. A crash, a hang or a malformed line
// becomes a typed error for every pending request; no promise is ever left hanging.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import {
  EngineMessageSchema,
  EngineRequestSchema,
  JsonParseError,
  PROTOCOL_VERSION,
  ResultSchemas,
  formatIssues,
  parseJson,
  type EngineEvent,
  type EngineMethod,
  type EngineParams,
  type EngineResult,
  type ReadyMessage,
} from "@reviewtune/contracts";
import {
  EngineCrashedError,
  EngineProtocolError,
  EngineRequestError,
  EngineTimeoutError,
  ConfigError,
} from "../errors.js";
import { engineAllocator, withAllocator, type EngineAllocator } from "./allocator.js";
import { requireEngineEnvironment } from "./environment.js";

export interface EngineStartOptions {
  /** The command to run; defaults to the installed engine environment's python -m reviewtune_engine. */
  command?: string[];
  env?: NodeJS.ProcessEnv;
  startupTimeoutMs?: number;
  /** Receives every stderr line of the engine (logs). */
  onStderr?: (line: string) => void;
}

export interface RequestOptions {
  onEvent?: (event: EngineEvent) => void;
  /** Aborting sends `cancel`; the request then settles with the engine's own answer. */
  signal?: AbortSignal;
  /** No answer within this time: the engine is killed and the request fails with EngineTimeoutError. */
  timeoutMs?: number;
}

interface Pending {
  method: EngineMethod;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  onEvent: ((event: EngineEvent) => void) | undefined;
}

const STDERR_TAIL = 40;

export class EngineClient {
  private readonly pending = new Map<string, Pending>();
  private readonly stderrTail: string[] = [];
  private nextId = 1;
  private exited = false;
  private failure: Error | undefined;

  /** Settles when the engine process exits, for whatever reason (a supervisor restarts it). */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly ready: ReadyMessage,
    /** The memory allocator the engine runs with (allocator.ts); "system" for a custom command. */
    readonly allocator: EngineAllocator,
  ) {
    this.exit = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  }

  /** Starts the engine and resolves once it said `ready` (or rejects with the reason it did not). */
  static async start(options: EngineStartOptions = {}): Promise<EngineClient> {
    let command = options.command;
    let env = options.env ?? process.env;
    let allocator: EngineAllocator = { name: "system", reason: "a custom engine command" };
    if (!command) {
      const environment = requireEngineEnvironment();
      command = [environment.python, "-m", "reviewtune_engine"];
      const pythonPath = [environment.engineSource, env.PYTHONPATH].filter(Boolean).join(":");
      allocator = engineAllocator(env);
      env = withAllocator({ ...env, PYTHONPATH: pythonPath, PYTHONUNBUFFERED: "1" }, allocator);
    }
    const [executable, ...args] = command;
    if (!executable) throw new ConfigError("empty engine command");
    const child = spawn(executable, args, { stdio: ["pipe", "pipe", "pipe"], env });
    // One reader for the engine's whole life: the tail it keeps moves into the client once ready.
    const stderrTail: string[] = [];
    let remember = (line: string) => {
      stderrTail.push(line);
      if (stderrTail.length > STDERR_TAIL) stderrTail.shift();
    };
    createInterface({ input: child.stderr }).on("line", (line) => {
      remember(line);
      options.onStderr?.(line);
    });
    const lines = createInterface({ input: child.stdout });
    const ready = await new Promise<ReadyMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new EngineTimeoutError(`the engine did not start within ${(options.startupTimeoutMs ?? 180_000) / 1000}s`, [...stderrTail]));
      }, options.startupTimeoutMs ?? 180_000);
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        clearTimeout(timer);
        reject(new EngineCrashedError(`the engine exited before it was ready (exit ${code ?? signal})`, code, signal, [...stderrTail]));
      };
      child.once("exit", onExit);
      child.once("error", (error) => {
        clearTimeout(timer);
        reject(new EngineCrashedError(`cannot start the engine (${error.message})`, null, null, []));
      });
      lines.once("line", (line) => {
        clearTimeout(timer);
        child.off("exit", onExit);
        try {
          const message = parseJson(line, EngineMessageSchema, "engine stdout");
          if (message.type !== "ready") throw new EngineProtocolError(`the engine's first message was ${message.type}, not ready`);
          if (message.protocol !== PROTOCOL_VERSION) {
            throw new EngineProtocolError(`the engine speaks protocol ${message.protocol}, this client ${PROTOCOL_VERSION}`);
          }
          resolve(message);
        } catch (error) {
          child.kill("SIGKILL");
          reject(error instanceof JsonParseError ? new EngineProtocolError(error.message) : error);
        }
      });
    });
    const client = new EngineClient(child, ready, allocator);
    client.stderrTail.push(...stderrTail);
    remember = (line) => client.rememberStderr(line);
    lines.on("line", (line) => client.onLine(line));
    child.on("exit", (code, signal) => client.onExit(code, signal));
    return client;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Sends a request; the params are validated (and defaults filled) before they leave. */
  request<M extends EngineMethod>(method: M, params: EngineParams<M>, options: RequestOptions = {}): Promise<EngineResult<M>> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.exited) return Promise.reject(new EngineCrashedError("the engine is not running", null, null, this.tail()));
    const id = String(this.nextId++);
    const parsed = EngineRequestSchema.safeParse({ id, method, params });
    if (!parsed.success) {
      return Promise.reject(new ConfigError(`invalid ${method} request`, formatIssues(parsed.error).map((issue) => issue.replace(/^params\./, ""))));
    }
    return new Promise<EngineResult<M>>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = () => {
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
      };
      const onAbort = () => void this.cancel(id).catch(() => undefined);
      this.pending.set(id, {
        method,
        resolve: (value) => {
          settle();
          resolve(value as EngineResult<M>);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
        onEvent: options.onEvent,
      });
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.fail(new EngineTimeoutError(`the engine did not answer ${method} within ${options.timeoutMs! / 1000}s; it was stopped`, this.tail()));
          this.child.kill("SIGKILL");
        }, options.timeoutMs);
      }
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener("abort", onAbort, { once: true });
      this.write(parsed.data);
    });
  }

  /** Asks the engine to cancel request `id` (training saves a checkpoint first). */
  async cancel(id: string): Promise<boolean> {
    const result = await this.request("cancel", { target: id });
    return result.cancelled;
  }

  /** Graceful stop: queued work finishes, then the process exits. Kills it if it takes longer than `graceMs`. */
  async shutdown(graceMs = 30_000): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.write({ id: String(this.nextId++), method: "shutdown", params: {} });
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** Stops the engine at once (pending requests fail with EngineCrashedError). */
  kill(): void {
    if (!this.exited) this.child.kill("SIGKILL");
  }

  tail(): string[] {
    return [...this.stderrTail];
  }

  private rememberStderr(line: string): void {
    this.stderrTail.push(line);
    if (this.stderrTail.length > STDERR_TAIL) this.stderrTail.shift();
  }

  private write(message: unknown): void {
    if (!this.child.stdin.writable) return;
    this.child.stdin.write(`${JSON.stringify(message)}\n`);
  }

  private onLine(line: string): void {
    let message;
    try {
      message = parseJson(line, EngineMessageSchema, "engine stdout");
    } catch (error) {
      this.fail(new EngineProtocolError(`the engine broke the protocol: ${(error as Error).message}: ${line.slice(0, 200)}`));
      this.child.kill("SIGKILL");
      return;
    }
    if (message.type === "ready") return;
    const pending = message.id === null ? undefined : this.pending.get(message.id);
    if (!pending) {
      if (message.type === "error") this.rememberStderr(`engine error without a request: ${message.error.message}`);
      return;
    }
    if (message.type === "event") {
      pending.onEvent?.(message.event);
    } else if (message.type === "result") {
      this.pending.delete(message.id);
      const parsed = ResultSchemas[pending.method].safeParse(message.result);
      if (parsed.success) pending.resolve(parsed.data);
      else pending.reject(new EngineProtocolError(`the engine's ${pending.method} result is malformed: ${formatIssues(parsed.error).join("; ")}`));
    } else if (message.type === "error") {
      this.pending.delete(message.id!);
      const { code, message: text, field, file, hint } = message.error;
      pending.reject(new EngineRequestError(code, text, field, file, hint));
    }
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.exited = true;
    if (this.pending.size > 0) {
      this.fail(new EngineCrashedError(`the engine exited with ${signal ?? `code ${code}`} while requests were pending`, code, signal, this.tail()));
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.reject(error);
    }
  }
}

// The torch backend: the reviewtune engine (PyTorch + PEFT) as a supervised child process. When the
// engine dies, the request it was answering fails (the HTTP layer answers 503), the engine is started
// again, adapters are re-loaded, and queued requests go on as if nothing happened.
import type { GenerateResult, LoadAdapterResult, TrainConfig } from "@reviewtune/contracts";
import type { ClassifierChoice, ClassifyResult } from "../classify/classify.js";
import { EngineClient, type EngineStartOptions } from "../engine/client.js";
import type { ChatTemplate, ChatMessage } from "../templates/chat-template.js";
import { chatTemplateFor } from "../templates/model-template.js";
import type { BackendState, GenerationBackend, GenerationRequest } from "./backend.js";

export interface TorchBackendOptions {
  model: TrainConfig["model"];
  /** A chat template that replaces the model's own (a run's data.template). */
  templateOverride?: string | undefined;
  engine?: EngineStartOptions;
  /**
   * torch's CPU threads in the engine (torch.set_num_threads); default: every core the engine may use.
   * Bound it when something else computes beside (a training, in the studio): oversubscribed torch
   * threads wait on each other and each answer takes many times longer.
   */
  threads?: number | undefined;
  /** Restarts in a row that may fail before the backend gives up. */
  maxRestartAttempts?: number;
  log?: (level: "info" | "warn" | "error", message: string) => void;
  onEngineRestart?: () => void;
}

export class TorchBackend implements GenerationBackend {
  readonly name = "torch" as const;
  state: BackendState = "starting";
  private engine: EngineClient | undefined;
  private template: ChatTemplate | undefined;
  /** The model's max_position_embeddings (model_info's context_length), once booted. */
  contextLength: number | undefined;
  private ready: Promise<void> = Promise.resolve();
  private booted = false;
  private readonly restartListeners: Array<() => Promise<void>> = [];

  constructor(private readonly options: TorchBackendOptions) {}

  async start(): Promise<void> {
    this.ready = this.boot().then(() => {
      this.state = "ready";
    });
    await this.ready;
  }

  whenReady(): Promise<void> {
    return this.ready;
  }

  get pid(): number | undefined {
    return this.engine?.pid;
  }

  /** The running engine's torch threads (its ready message). */
  get threads(): number | undefined {
    return this.engine?.ready.threads;
  }

  get chatTemplate(): ChatTemplate | undefined {
    return this.template;
  }

  renderChat(messages: ChatMessage[]): string {
    if (!this.template) throw new Error("the backend has not started");
    return this.template.prompt(messages);
  }

  async countTokens(texts: string[]): Promise<number[]> {
    const engine = await this.current();
    return (await engine.request("count_tokens", { model: this.options.model, texts })).counts;
  }

  async generate(request: GenerationRequest): Promise<GenerateResult> {
    const engine = await this.current();
    return engine.request(
      "generate",
      {
        model: this.options.model,
        ...(request.adapterDir ? { adapter: request.adapterDir } : {}),
        prompts: request.prompts,
        max_new_tokens: request.maxNewTokens,
        temperature: request.temperature,
        top_p: request.topP,
        seed: request.seed,
        batch_size: request.prompts.length,
        stream: request.onToken !== undefined,
        ...(request.jsonSchema ? { json_schema: request.jsonSchema } : {}),
        ...(request.stop?.length ? { stop: request.stop } : {}),
        presence_penalty: request.presencePenalty ?? 0,
        frequency_penalty: request.frequencyPenalty ?? 0,
        ...(request.logprobs !== undefined ? { logprobs: request.logprobs } : {}),
        ...(request.ordinal ? { ordinal: request.ordinal } : {}),
      },
      {
        signal: request.signal,
        ...(request.onToken ? { onEvent: (event) => event.kind === "token" && request.onToken!(event.index, event.text) } : {}),
      },
    );
  }

  async embed(texts: string[], signal: AbortSignal): Promise<{ embeddings: number[][]; tokens: number }> {
    const engine = await this.current();
    return engine.request("embed", { model: "all-minilm-l6-v2", texts }, { signal });
  }

  async classify(classifier: ClassifierChoice, texts: string[], signal: AbortSignal): Promise<ClassifyResult> {
    const engine = await this.current();
    return engine.request("classify", { model: classifier.model, ...(classifier.adapter ? { adapter: classifier.adapter } : {}), texts }, { signal });
  }

  async loadAdapter(dir: string): Promise<LoadAdapterResult> {
    const engine = await this.current(true);
    return engine.request("load_adapter", { model: this.options.model, adapter: dir });
  }

  async unloadAdapter(dir: string): Promise<void> {
    const engine = await this.current(true);
    await engine.request("unload_adapter", { adapter: dir });
  }

  onRestart(listener: () => Promise<void>): void {
    this.restartListeners.push(listener);
  }

  /** For tests and operators: stops the engine process as a crash would. */
  killEngine(): void {
    this.engine?.kill();
  }

  async close(): Promise<void> {
    this.state = "closed";
    await this.engine?.shutdown(10_000);
    // A restart in progress stops the engine it was starting once it sees the state (boot()).
    await this.ready.catch(() => undefined);
  }

  /** The running engine once ready; `duringRestart`: also the fresh one while restart listeners re-load adapters. */
  private async current(duringRestart = false): Promise<EngineClient> {
    // Not `await this.ready`: a restart listener asking after close() would wait for its own restart.
    if (this.state === "closed") throw new Error("the backend is closed");
    if (!(duringRestart && this.state === "restarting" && this.booted)) await this.ready;
    if (!this.engine) throw new Error("the backend has not started");
    return this.engine;
  }

  private async boot(): Promise<void> {
    const options = this.options.engine ?? {};
    const engine = await EngineClient.start(
      this.options.threads === undefined ? options : { ...options, env: { ...(options.env ?? process.env), REVIEWTUNE_THREADS: String(this.options.threads) } },
    );
    try {
      // model_info loads the model, so the first request does not pay for it.
      this.template = await chatTemplateFor(engine, this.options.model, this.options.templateOverride);
      // Answered from the engine's cache (chatTemplateFor loaded the model): the limit a prompt is checked against.
      this.contextLength = (await engine.request("model_info", { model: this.options.model })).context_length ?? undefined;
    } catch (error) {
      engine.kill();
      throw error;
    }
    if (this.state === "closed") {
      // close() came while this engine was starting (a restart in progress): nobody else would stop it.
      await engine.shutdown(10_000);
      throw new Error("the backend was closed while the engine was starting");
    }
    this.engine = engine;
    this.booted = true;
    void engine.exit.then(({ code, signal }) => this.onExit(engine, code, signal));
  }

  private onExit(engine: EngineClient, code: number | null, signal: string | null): void {
    if (this.state === "closed" || engine !== this.engine) return;
    this.options.log?.("error", `the engine exited (${signal ?? `code ${code}`}); restarting it`);
    this.options.onEngineRestart?.();
    this.state = "restarting";
    this.booted = false;
    this.ready = this.restart();
    this.ready.catch(() => undefined); // waiters see the rejection; this only avoids an unhandled one
  }

  /** close() may come at any await of a restart (TypeScript would keep a narrowed `state` across them). */
  private isClosed(): boolean {
    return this.state === "closed";
  }

  private async restart(): Promise<void> {
    const attempts = this.options.maxRestartAttempts ?? 3;
    for (let attempt = 1; ; attempt += 1) {
      try {
        // Closed while waiting to try again: starting an engine only to stop it would delay the exit.
        if (this.isClosed()) throw new Error("the backend was closed while the engine was restarting");
        await this.boot();
        for (const listener of this.restartListeners) await listener();
        // close() came while the listeners re-loaded adapters (Ctrl-C during a restart): it is stopping
        // this engine. Marking the backend ready here made the engine's exit look like a crash, which
        // started yet another engine that kept the process from exiting.
        if (this.isClosed()) throw new Error("the backend was closed while the engine was restarting");
        this.state = "ready";
        this.options.log?.("info", `the engine is back (pid ${this.engine?.pid})`);
        return;
      } catch (error) {
        if (this.state === "closed") throw error;
        if (attempt >= attempts) {
          this.state = "failed";
          this.options.log?.("error", `the engine could not be restarted: ${(error as Error).message}`);
          throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
      }
    }
  }
}

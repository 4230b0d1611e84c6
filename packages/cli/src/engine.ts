// Starting the engine from the CLI: the environment must be installed; the engine's own log lines
// are shown (model preparation can take a while), library chatter only with --verbose.
import { resolve } from "node:path";
import type { TrainConfig } from "@reviewtune/contracts";
import { ConfigError, EngineClient, ensureEngineEnvironment } from "@reviewtune/core";

export async function startEngine(options: { verbose?: boolean; install?: boolean } = {}): Promise<EngineClient> {
  if (options.install) await ensureEngineEnvironment({ log: (line) => console.error(line) });
  const verbose = options.verbose || process.env.REVIEWTUNE_VERBOSE === "1";
  return EngineClient.start({
    onStderr: (line) => {
      if (verbose || /^\[engine\] (INFO|WARNING|ERROR) reviewtune/.test(line)) console.error(line);
    },
  });
}

/** Ctrl-C once: `onCancel` (graceful); twice: exit at once. Returns a disposer. */
export function onInterrupt(onCancel: () => void): () => void {
  let count = 0;
  const handler = () => {
    count += 1;
    if (count === 1) {
      console.error("\ninterrupted: stopping cleanly (saving a checkpoint); press Ctrl-C again to quit at once");
      onCancel();
    } else {
      process.exit(130);
    }
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}

/**
 * The GGUF file a base model's weights come from (what llama.cpp loads): a .gguf source itself, else
 * the file the engine loaded it from (the embedded model's). `flag` names the option that overrides it.
 */
export async function baseGgufOf(model: TrainConfig["model"], flag: string): Promise<string> {
  if (model.source.endsWith(".gguf")) return resolve(model.source);
  const engine = await startEngine({ verbose: false });
  try {
    const gguf = (await engine.request("model_info", { model })).gguf;
    if (!gguf) throw new ConfigError(`${model.source} was not loaded from a GGUF file`, [], { hint: `convert it with llama.cpp's convert_hf_to_gguf.py and pass ${flag} FILE` });
    return gguf;
  } finally {
    await engine.shutdown();
  }
}

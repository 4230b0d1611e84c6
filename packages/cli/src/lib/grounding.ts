// How a command that answers with a run (ask, generate, chat, test) asks a run trained with grounded
// prompts (data.grounding: nearest): each conversation's last question gets its nearest training
// example, as in training and eval (base and tuned alike, the same prompts). The embeddings come
// from the torch engine that answers, or beside llama.cpp from an engine started for them alone.
import { runGrounding, type ChatMessage, type GenerationBackend, type RunRecord } from "@reviewtune/core";
import { engineEmbedder, type UpstreamBackendEmbedder } from "../engine.js";

export type Ground = <M extends ChatMessage>(conversations: M[][]) => Promise<M[][]>;

/** The run's grounding (identity for a run trained without it) and what closes its engine. */
export async function groundingForRun(run: RunRecord | undefined, backend: GenerationBackend, signal: AbortSignal, verbose: boolean): Promise<{ ground: Ground; close: () => Promise<void> }> {
  const identity: Ground = async (conversations) => conversations;
  if (!run || run.config.data.grounding !== "nearest") return { ground: identity, close: async () => {} };
  const embedder: UpstreamBackendEmbedder | undefined = backend.name === "torch" ? undefined : await engineEmbedder(verbose);
  try {
    const embed = embedder ?? backend;
    const ground = await runGrounding(run, async (texts) => (await embed.embed(texts, signal)).embeddings);
    console.error(`[grounded on the nearest training example of ${run.config.data.train}]`);
    return { ground: ground ?? identity, close: async () => embedder?.close() };
  } catch (error) {
    await embedder?.close();
    throw error;
  }
}

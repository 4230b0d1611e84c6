// `--quant`'s choices, apart from engine.ts: the serve and export commands register them at startup,
// and engine.ts loads the server package (fastify, prom-client, ajv...), which every command then
// loaded too, `data build` included (~20 MB of a million-row build's peak RSS: README, Performance).

/** `--quant`: the llama.cpp quantization the base GGUF is served in; "source" keeps the file as it is. */
export type GgufQuant = "q4_0" | "q8_0" | "source";
export const GGUF_QUANTS: readonly GgufQuant[] = ["q4_0", "q8_0", "source"];

import { Option, type Command } from "commander";
import { DEFAULT_KV_CACHE, KV_CACHE_TYPES } from "@reviewtune/core";
import { GGUF_QUANTS } from "../lib/gguf-quants.js";
import { collect, portNumber, positiveInteger } from "./shared.js";
import type { ServeOptions } from "../actions/serve-action.js";

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions, /v1/models, /v1/embeddings) and /v1/analyze over the base model and its adapters")
    .option("--run <run-dir>", "serve a finished run: its base model, and its adapter under the run's id")
    .option("--model <source>", "base model without --run (embedded name, folder, .gguf or hub id)", "smollm2-135m-instruct")
    .option("--adapter <name=dir>", "also serve a PEFT adapter folder under a name (repeatable)", collect, [])
    .option("--host <address>", "address to listen on; anything but loopback needs --api-key", "127.0.0.1")
    .option("--port <n>", "port (0: any free port)", portNumber, 8000)
    .option("--api-key <key>", "require Authorization: Bearer <key> (default: $REVIEWTUNE_API_KEY)")
    .option("--backend <name>", "generation backend: torch (the engine: PyTorch + PEFT) | llamacpp (node-llama-cpp on the base GGUF, adapters converted to GGUF LoRA and merged into a copy of a small base: the fast CPU path)", "torch")
    .option("--upstream <url>", "decode on another OpenAI-compatible server (vLLM --enable-lora, llama.cpp's llama-server, another reviewtune serve): this one keeps the adapter names, fallback, /v1/analyze, metrics, auth and queue limits; adapters are the upstream's model names")
    .option("--upstream-key <key>", "the upstream's API key (default: $REVIEWTUNE_UPSTREAM_KEY)")
    .option("--upstream-model <name>", "the base model's name upstream (default: --model's id when the upstream lists it, else the first model it lists)")
    .option("--gguf <file>", "llamacpp: the base model's GGUF (default: the one the base is loaded from, e.g. the embedded model's)")
    .addOption(new Option("--quant <type>", "llamacpp: serve the base GGUF requantized to this type, made once and cached (default: q8_0 for the model's own GGUF, faster on CPU than its Q4_1 and close to its answers (README, Serving: drift); q4_0 is faster still but changes answers, see export --format gguf-lora; source for a --gguf file)").choices(GGUF_QUANTS))
    .option("--parallel <n>", "llamacpp: sequences decoded together (requests served at once)", positiveInteger("--parallel"), 4)
    .addOption(new Option("--kv-cache <type>", "llamacpp: the key/value cache's type: q8_0 (keys and values at 8 bits, flash attention: about half the cache's memory, 5% slower) or f16 (llama.cpp's default)").choices(KV_CACHE_TYPES).default(DEFAULT_KV_CACHE))
    .option("--no-merge-adapters", "llamacpp: apply adapters as GGUF LoRA at run time instead of merging each into a copy of a base under 1 GiB (less memory, exact adapter weights; decoding about a quarter slower)")
    .option("--threads <n>", "CPU threads for generation, one budget shared by all llama.cpp contexts (torch: the engine's threads); lower it when something else computes beside, e.g. a training (default: the cores, at most the physical ones for llama.cpp)", positiveInteger("--threads"))
    .option("--runs-dir <dir>", "where POST /admin/adapters finds runs by id (default: the folder holding --run, else ./runs)")
    .option("--queue-size <n>", "requests that may wait; one more gets 429 with Retry-After", positiveInteger("--queue-size"), 16)
    .option("--timeout <seconds>", "per-request time limit; longer generations are cancelled (504)", positiveInteger("--timeout"), 120)
    .option("--max-tokens-limit <n>", "the largest max_tokens a request may ask for", positiveInteger("--max-tokens-limit"), 1024)
    .option("--max-prompt-tokens <n>", "refuse longer prompts (400 context_length_exceeded); a prompt whose tokens plus max_tokens pass the model's context is always refused", positiveInteger("--max-prompt-tokens"))
    .option("--max-body-kb <n>", "request body size limit (413 above it)", positiveInteger("--max-body-kb"), 1024)
    .option("--cors-origin <origin>", "allow browser calls from this origin (repeatable); CORS is off without it", collect, [])
    .option("--allow-host <name>", "also accept requests whose Host is this name (repeatable; e.g. a reverse proxy's); other names than loopback and the bound address get 403 (DNS rebinding)", collect, [])
    .option("--allow-origin <origin>", "also accept requests from pages of this origin (repeatable); other web pages get 403", collect, [])
    .option("--references <dataset>", "answer `references: true` with this dataset's training examples (default with --run: the run's dataset folder)")
    .option("--no-references", "do not index or offer training references")
    .option("--allow-pickle", "allow loading pickle (.bin) weights you trust")
    .option("--verbose", "show the engine's full log")
    .action(async (options: ServeOptions) => {
      const { runServe } = await import("../actions/serve-action.js");
      await runServe(options);
    });
}

// Adapters for other runtimes: GGUF LoRA conversion (the merge is internal to the llama.cpp backend).
// The names other packages use; the rest of the folder is internal to core.
export { permuteRows, convertLoraToGguf, readGgufBaseInfo } from "./gguf-lora.js";
export { lintAdapterForVllm, VLLM_LORA_MODULES } from "./vllm-lint.js";

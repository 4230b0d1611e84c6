// The one model interface (GenerationBackend) and its two backends: the torch engine and llama.cpp.
// The names other packages use; the rest of the folder is internal to core.
export type { GenerationRequest, GenerationBackend } from "./backend.js";
export { LlamaCppBackend } from "./llamacpp-backend.js";
export { TorchBackend } from "./torch-backend.js";

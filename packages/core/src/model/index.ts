// The one model interface (GenerationBackend) and its backends: the torch engine, llama.cpp in
// process, and another server (an OpenAI-compatible upstream). The names other packages use; the rest
// of the folder is internal to core.
export type { GenerationRequest, GenerationBackend } from "./backend.js";
export { DEFAULT_KV_CACHE, KV_CACHE_TYPES, LlamaCppBackend, type KvCacheType } from "./llamacpp-backend.js";
export { TorchBackend } from "./torch-backend.js";
export { UpstreamBackend, UpstreamError } from "./upstream-backend.js";

// The Python engine: its environment, and the client that speaks the protocol to it.
// The names other packages use; the rest of the folder is internal to core.
export { EngineClient } from "./client.js";
export { engineAllocator } from "./allocator.js";
export type { EngineAllocator } from "./allocator.js";
export { isEnvironmentReady, requireEngineEnvironment, ensureEngineEnvironment } from "./environment.js";

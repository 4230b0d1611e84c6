// core's public API: what the other packages (server, studio, cli) and the scripts use, named by
// each folder's index.ts; everything else in core is internal to it.
export { ReviewtuneError, ConfigError, DataError, UsageError, EngineNotInstalledError, EngineCrashedError, EngineTimeoutError, EngineRequestError, CancelledError, unlessInterrupted } from "./errors.js";
export { stagingPath, writeFileAtomic, writeJsonAtomic, readJsonFile } from "./files.js";
export { projectRoot, cacheRoot } from "./paths.js";
export * from "./bench/index.js";
export * from "./classify/index.js";
export * from "./compare/index.js";
export * from "./data/index.js";
export * from "./engine/index.js";
export * from "./eval/index.js";
export * from "./export/index.js";
export * from "./generate/index.js";
export * from "./model/index.js";
export * from "./presets/index.js";
export * from "./references/index.js";
export * from "./templates/index.js";
export * from "./train/index.js";

// The shipped presets (one per reference recipe) and config resolution.
// The names other packages use; the rest of the folder is internal to core.
export { listPresets, mergeConfig, resolveConfig } from "./presets.js";

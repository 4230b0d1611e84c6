// `reviewtune compare-methods`: LoRA, QLoRA and full fine-tuning in one table.
// The names other packages use; the rest of the folder is internal to core.
export { COMPARABLE_METHODS, compareMethods, formatComparison, checkComparisonFolder } from "./compare-methods.js";
export type { ComparableMethod } from "./compare-methods.js";

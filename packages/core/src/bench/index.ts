// The benchmarks behind `reviewtune bench`: training, data building and serving, each printing figures.
// The names other packages use; the rest of the folder is internal to core.
export { benchData, formatDataBench } from "./data-bench.js";
export { parseBenchTarget, benchServe, formatServeBench } from "./serve-bench.js";
export { BENCH_RECIPES, benchTrain, formatBench } from "./train-bench.js";
export type { BenchRecipe } from "./train-bench.js";

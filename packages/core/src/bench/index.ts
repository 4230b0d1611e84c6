// The benchmarks behind `reviewtune bench`: training, data building and serving, each printing figures.
// The names other packages use; the rest of the folder is internal to core.
export { benchData, formatDataBench } from "./data-bench.js";
export { parseBenchTarget, benchServe, formatServeBench } from "./serve-bench.js";
export { benchTrain, formatBench } from "./train-bench.js";

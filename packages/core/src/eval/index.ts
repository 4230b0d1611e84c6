// Evaluation: tuned vs base vs baselines, the analysis and the chat tasks, intervals, reports.
// The names other packages use; the rest of the folder is internal to core.
export { ANALYSIS_MAX_TOKENS, analysisGeneration, analysisReport, loadAnalysisItems, analyzeWithBackend, ruleBasedAnalysis } from "./analysis-eval.js";
export { compareReports } from "./compare.js";
export { BASELINES, evaluateRun, evaluateAspects } from "./evaluate.js";
export type { BaselineName } from "./evaluate.js";
export { HUMAN_FILES, exportHumanPairs, scoreHumanRatings } from "./human.js";
export { parseAnswer } from "./parse-answer.js";
export { formatEstimate, HEADLINE_ROWS, headlineTable, analysisColumns, analysisTable, comparisonLines } from "./report-markdown.js";
export { readSemEvalAspects } from "./semeval.js";
export { readEvalReport, writeEvalReport } from "./write-report.js";
export { TEXT_BASELINES, evaluateTextRun, isTextDataset, textTable, writeTextEvalReport } from "./text-eval.js";
export type { TextBaseline } from "./text-eval.js";

// Review files in, dataset folders out: sources, labels, phrasings, splits, the card, the demo reviews.
// The names other packages use; the rest of the folder is internal to core.
export { REVIEW_TASKS } from "./augment/answers.js";
export type { ReviewTask } from "./augment/answers.js";
export { ANALYSIS_TASK, analysisPrompt } from "./augment/augment.js";
export { buildDataset } from "./builder/build-dataset.js";
export { roundedLine, accountingLine, rejectionLine, heldOutLine } from "./builder/card.js";
export type { DatasetCard } from "./builder/card.js";
export { DEMO_KINDS, buildDemoDataset } from "./builder/demo-dataset.js";
export type { DemoKind } from "./builder/demo-dataset.js";
export { TokenBudget } from "./builder/token-budget.js";
export { prepareClassificationData, classCounts } from "./classification-data.js";
export { DATASET_PATHS, datasetPath, SPLIT_FILES, hasDatasetFile, readDatasetCard, readExampleRows, readReviewRows, readRejections } from "./dataset-folder.js";
export { DEMO_CHAT_TASKS_PER_REVIEW, DEMO_EXAMPLES_PER_REVIEW, demoPrompts, demoPromptTasks } from "./demo-reviews.js";
export { BUILTIN_DEMO, applyMix } from "./instruction-data.js";
export { readJsonl } from "./jsonl.js";
export { Teacher } from "./labels/teacher.js";
export { readRecords } from "./sources/records.js";
export { resolveColumns, ReviewValidator } from "./sources/reviews.js";
export type { Review, Rejection } from "./sources/reviews.js";

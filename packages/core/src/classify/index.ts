// Classification heads answering: `reviewtune classify` and the eval of a head.
// The names other packages use; the rest of the folder is internal to core.
export { classifierOfRun, classify } from "./classify.js";
export type { ClassifierChoice } from "./classify.js";

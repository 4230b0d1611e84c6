// Answering review tasks with a model: prompts and their parsing.
// The names other packages use; the rest of the folder is internal to core.
export { answer, answerWith, readPromptFile } from "./answer.js";

// Chat templates: the model's own, rendered as the model was trained.
// The names other packages use; the rest of the folder is internal to core.
export { userTurns, ChatTemplate } from "./chat-template.js";
export type { ChatMessage } from "./chat-template.js";
export { chatTemplateFor, localChatTemplate } from "./model-template.js";

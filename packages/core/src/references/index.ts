// The training references: an embedding index of a dataset's examples.
// The names other packages use; the rest of the folder is internal to core.
export { ReferenceIndex } from "./reference-index.js";
export { groundConversations, groundedPrompt, groundingFolder, groundMessages, nearestNeighbours, runGrounding, type Neighbour } from "./grounding.js";

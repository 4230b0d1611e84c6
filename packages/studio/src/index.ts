export * from "./studio.js";
export * from "./training/estimate.js";
export { trainArguments, Trainer } from "./training/trainer.js";
export { indexHtml, importMap } from "./ui-assets.js";

export * from "./analysis.js";
export * from "./config.js";
export * from "./protocol.js";
export * from "./json.js";
export * from "./json-schema.js";
export * from "./http-api.js";
export * from "./eval-report.js";
export * from "./studio-api.js";

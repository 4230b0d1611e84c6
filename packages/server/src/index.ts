export * from "./server.js";
export * from "./adapters/adapter-registry.js";
export * from "./http/api-error.js";
export * from "./binding.js";
export { groundingDataset } from "./routes/admin.js";

export * from "./server.js";
export * from "./backend/backend.js";
export * from "./backend/torch-backend.js";
export * from "./backend/llamacpp-backend.js";
export * from "./adapters/adapter-registry.js";
export * from "./http/api-error.js";
export * from "./binding.js";
export { runAdapterDir } from "./routes/admin.js";

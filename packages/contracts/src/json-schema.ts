import { z } from "zod";
import { EngineMessageSchema, EngineRequestSchema, PROTOCOL_VERSION } from "./protocol.js";

/** The JSON Schema text the engine validates requests (and its own replies) against. */
export function protocolJsonSchema(): string {
  const schema = {
    $comment: "Generated from packages/contracts/src/protocol.ts by `npm run schemas`. Do not edit.",
    protocol: PROTOCOL_VERSION,
    request: z.toJSONSchema(EngineRequestSchema, { io: "input", unrepresentable: "any" }),
    message: z.toJSONSchema(EngineMessageSchema, { io: "output", unrepresentable: "any" }),
  };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

// Writes the protocol's JSON Schema for the Python engine: `npm run schemas`. A test checks the
// committed file matches, so the two sides cannot drift.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { protocolJsonSchema } from "./json-schema.js";

const target = fileURLToPath(new URL("../../../engine/src/reviewtune_engine/protocol.schema.json", import.meta.url));
writeFileSync(target, protocolJsonSchema());
console.log(`wrote ${target}`);

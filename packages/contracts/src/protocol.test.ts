import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { protocolJsonSchema } from "./json-schema.js";
import { parseJson, JsonParseError } from "./json.js";
import { EngineMessageSchema, EngineRequestSchema, ResultSchemas, type EngineMethod } from "./protocol.js";

const fixture = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));
const transcriptLines = readFileSync(fixture("__fixtures__/transcripts/session.jsonl"), "utf8").split("\n").filter(Boolean);

describe("protocol schemas", () => {
  it("the engine's JSON Schema file is generated from these schemas (run `npm run schemas` when this fails)", () => {
    const committed = readFileSync(fixture("../../engine/src/reviewtune_engine/protocol.schema.json"), "utf8");
    assert.equal(committed, protocolJsonSchema());
  });

  it("every line of the engine transcript (recorded by engine/tests/record_transcripts.py) validates", () => {
    const methods = new Map<string, EngineMethod>();
    const seen = new Set<string>();
    for (const [index, line] of transcriptLines.entries()) {
      const { direction, message } = JSON.parse(line) as { direction: string; message: { id?: string; method?: string } };
      const where = `session.jsonl:${index + 1}`;
      if (direction === "to_engine") {
        const parsed = EngineRequestSchema.safeParse(message);
        // The transcript records requests the engine must reject, too (unknown method, bad params).
        if (parsed.success) methods.set(message.id!, parsed.data.method);
        continue;
      }
      const parsed = parseJson(JSON.stringify(message), EngineMessageSchema, where);
      seen.add(parsed.type === "event" ? `event:${parsed.event.kind}` : parsed.type);
      if (parsed.type === "result") {
        const method = methods.get(parsed.id);
        assert.ok(method, `${where}: a result for an unknown request id ${parsed.id}`);
        const result = ResultSchemas[method].safeParse(parsed.result);
        assert.ok(result.success, `${where}: ${method} result: ${result.error?.message}`);
      }
    }
    for (const kind of ["ready", "result", "error", "event:token", "event:progress", "event:eval", "event:status"]) {
      assert.ok(seen.has(kind), `the transcript has no ${kind} message: re-record it`);
    }
  });

  it("rejects a request with an unknown method or bad params, naming the field", () => {
    assert.equal(EngineRequestSchema.safeParse({ id: "1", method: "nope", params: {} }).success, false);
    const bad = EngineRequestSchema.safeParse({ id: "1", method: "generate", params: { model: { source: "x" }, prompts: [], max_new_tokens: 0 } });
    assert.equal(bad.success, false);
    const paths = bad.error!.issues.map((issue) => issue.path.join("."));
    assert.ok(paths.includes("params.prompts"), paths.join(", "));
    assert.ok(paths.includes("params.max_new_tokens"), paths.join(", "));
  });

  it("parseJson names the source of broken JSON", () => {
    assert.throws(() => parseJson("{oops", EngineMessageSchema, "engine stdout"), (error: unknown) => {
      assert.ok(error instanceof JsonParseError);
      assert.match(error.message, /^engine stdout: not valid JSON/);
      return true;
    });
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EngineRequestError } from "@reviewtune/core";
import { toHttpError } from "./api-error.js";

describe("toHttpError", () => {
  it("answers the engine's refusal of a client's schema with a 400 and logs nothing; its own failures are logged 500s", () => {
    const logged: unknown[] = [];
    const refused = toHttpError(new EngineRequestError("bad_schema", "the grammar cannot express it", "response_format", null, null), (error) => logged.push(error));
    assert.deepEqual([refused.status, refused.body.error.param, logged.length], [400, "response_format", 0]);
    const failed = toHttpError(new EngineRequestError("generation_failed", "boom", null, null, null), (error) => logged.push(error));
    assert.deepEqual([failed.status, failed.body.error.code, logged.length], [500, "generation_failed", 1]);
  });
});

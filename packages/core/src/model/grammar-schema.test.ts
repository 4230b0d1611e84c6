import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { REVIEW_ANALYSIS_JSON_SCHEMA } from "@reviewtune/contracts";
import { grammarSchema } from "./grammar-schema.js";

describe("grammarSchema", () => {
  it("leaves a schema the grammar holds as it is (the analysis schema among them)", () => {
    const schema = REVIEW_ANALYSIS_JSON_SCHEMA as unknown as Record<string, unknown>;
    assert.deepEqual(grammarSchema(schema), { schema, unenforced: [] });
    const referenced = { type: "object", $defs: { tone: { enum: ["up", "down"] } }, properties: { a: { $ref: "#/$defs/tone" }, b: { type: "array", items: { $ref: "#/$defs/tone" } }, when: { type: "string", format: "date" } } };
    assert.deepEqual(grammarSchema(referenced).unenforced, []);
  });

  it("names every keyword the grammar would pass over, with where it is", () => {
    const { unenforced } = grammarSchema({
      type: "object",
      properties: {
        stars: { type: "integer", minimum: 1, maximum: 5 },
        code: { type: "string", pattern: "^[A-Z]+$" },
        mail: { type: "string", format: "email" },
        tags: { type: "array", uniqueItems: true, items: { not: { type: "null" } } },
        a: { $ref: "#/$defs/missing" },
        b: { $ref: "#/definitions/x" },
      },
      definitions: { x: { type: "string" } },
    });
    assert.deepEqual(unenforced, [
      "definitions at (root) (write $defs)",
      "minimum at properties.stars",
      "maximum at properties.stars",
      "pattern at properties.code",
      'format "email" at properties.mail (only date, time, date-time)',
      "uniqueItems at properties.tags",
      "not at properties.tags.items",
      '$ref "#/$defs/missing" at properties.a: no such definition in $defs',
      '$ref "#/definitions/x" at properties.b (only "#/$defs/<name>" references)',
    ]);
  });

  it("writes anyOf as oneOf (the grammar offers either's alternatives alike), at any depth, and leaves enum values alone", () => {
    const { schema, unenforced } = grammarSchema({ type: "object", properties: { v: { anyOf: [{ type: "boolean" }, { type: "array", items: { anyOf: [{ const: "anyOf" }, { type: "null" }] } }] }, e: { enum: [{ anyOf: 1 }] } } });
    assert.deepEqual(unenforced, []);
    assert.deepEqual(schema, { type: "object", properties: { v: { oneOf: [{ type: "boolean" }, { type: "array", items: { oneOf: [{ const: "anyOf" }, { type: "null" }] } }] }, e: { enum: [{ anyOf: 1 }] } } });
    assert.deepEqual(grammarSchema({ anyOf: [{ type: "string" }], oneOf: [{ type: "null" }] }).unenforced, ["anyOf beside oneOf at (root)"]);
  });
});

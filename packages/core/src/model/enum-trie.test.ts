import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import { reviewAnalysisJsonSchema, reviewSpans } from "@reviewtune/contracts";
import { ENUM_TRIE_MIN_VALUES, enumTrieRules, extractLargeEnums, withEnumTries } from "./enum-trie.js";

describe("large enums as prefix trees", () => {
  it("swaps only string enums of ENUM_TRIE_MIN_VALUES values or more for markers, wherever they are", () => {
    const many = Array.from({ length: ENUM_TRIE_MIN_VALUES }, (_, index) => `v${index}`);
    const schema = {
      type: "object",
      properties: { small: { enum: ["a", "b"] }, numbers: { enum: many.map((_, index) => index) }, list: { type: "array", items: { type: "object", properties: { term: { enum: [...many, "v0"] } } } } },
    };
    const { schema: skeleton, enums } = extractLargeEnums(schema);
    assert.deepEqual(enums, [many], "duplicates dropped");
    assert.deepEqual((skeleton as typeof schema).properties.list.items.properties.term, { const: "reviewtune-enum-0" });
    assert.deepEqual((skeleton as typeof schema).properties.small, schema.properties.small);
    assert.deepEqual((skeleton as typeof schema).properties.numbers, schema.properties.numbers);
    assert.equal(extractLargeEnums({ enum: ["a"] }).enums.length, 0);
    // A default or an example is data, even one that looks like a schema with a large enum.
    const data = { type: "object", default: { enum: many }, examples: [{ enum: many }] };
    assert.deepEqual(extractLargeEnums(data), { schema: data, enums: [] });
  });

  it("writes a radix tree over the JSON literals: shared beginnings once, a branch where values part", () => {
    assert.deepEqual(enumTrieRules("t", ["battery", "battery life", "bag", "screen"]), [
      't ::= "\\"" t-1',
      't-1 ::= ( "ba" t-2 | "screen\\"" )',
      't-2 ::= ( "ttery" t-3 | "g\\"" )',
      't-3 ::= ( "\\"" | " life\\"" )',
    ]);
    // A quote, a backslash and a newline are JSON-escaped in the value, then GBNF-escaped in the literal.
    assert.deepEqual(enumTrieRules("q", ['say "hi"', "a\\b\nc"]), ['q ::= "\\"" q-1', 'q-1 ::= ( "say \\\\\\"hi\\\\\\"\\"" | "a\\\\\\\\b\\\\nc\\"" )']);
  });

  it("a review's analysis grammar admits exactly its phrases as terms (llama.cpp's own check of text against a grammar)", async () => {
    const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
    const review = 'The battery life is great, but the screen is dim. Ünïcode "quoted" text, a\\b.';
    const { schema, enums } = extractLargeEnums(reviewAnalysisJsonSchema(review));
    assert.equal(enums.length, 1);
    const skeleton = await llama.createGrammarForJsonSchema(schema as Parameters<typeof llama.createGrammarForJsonSchema>[0]);
    const grammar = await llama.createGrammar({ grammar: withEnumTries(skeleton.grammar, enums) });
    // LlamaGrammar._testText: node-llama-cpp's (internal) whole-text match against the root rule.
    const admits = (term: string) =>
      (grammar as unknown as { _testText(text: string): boolean })._testText(
        `{"stars":4,"sentiment":"positive","score":0.6,"quality":"good","recommendation":"yes","aspects":[{"term":${JSON.stringify(term)},"polarity":"positive"}],"summary":"Good."}\n\n\n\n`,
      );
    for (const phrase of reviewSpans(review)) assert.ok(admits(phrase), phrase);
    for (const other of ["batt", "battery lif", "the screen is dim.", "dim. Ünïcode", "strap", "Battery", ""]) assert.ok(!admits(other), other);
    assert.throws(() => withEnumTries("root ::= \"x\"", enums), /has no/);
    await llama.dispose();
  });
});

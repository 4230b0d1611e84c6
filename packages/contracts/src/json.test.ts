import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import { TrainConfigSchema } from "./config.js";
import { ChatCompletionsRequestSchema } from "./http-api.js";
import { formatIssues } from "./json.js";

const problems = (schema: z.ZodType, value: unknown) => formatIssues(schema.safeParse(value).error!);

describe("formatIssues", () => {
  const request = (extra: Record<string, unknown>) => ({ model: "m", messages: [{ role: "user", content: "hi" }], ...extra });

  it("names the problem of the union branch the value has the type of, not 'Invalid input'", () => {
    assert.deepEqual(problems(ChatCompletionsRequestSchema, request({ stop: ["a", "b", "c", "d", "e"] })), ["stop: at most 4 stop strings"]);
    assert.deepEqual(problems(ChatCompletionsRequestSchema, request({ stop: [1] })), ["stop.0: Invalid input: expected string, received number"]);
  });

  it("says which kinds would do when the value is the wrong kind for every branch", () => {
    assert.deepEqual(problems(ChatCompletionsRequestSchema, request({ stop: 5 })), ["stop: Invalid input: expected string or array"]);
    assert.deepEqual(problems(z.object({ a: z.number() }), { a: "x" }), ["a: Invalid input: expected number, received string"]);
  });

  it("reads a union of objects by the keys the value has, when given the value", () => {
    const row = z.union([z.object({ prompt: z.string() }), z.object({ messages: z.array(z.object({ role: z.enum(["user", "assistant"]) })) })]);
    const withInput = (value: unknown) => formatIssues(row.safeParse(value).error!, value);
    assert.deepEqual(withInput({ messages: [{ role: "bogus" }] }), ['messages.0.role: Invalid option: expected one of "user"|"assistant"']);
    assert.deepEqual(withInput({ text: "wrong key" }), ['(root): Invalid input: needs "prompt" or "messages"']);
    assert.deepEqual(withInput({ prompt: 3 }), ["prompt: Invalid input: expected string, received number"]);
    assert.deepEqual(problems(row, { messages: [{ role: "bogus" }] }), ["(root): Invalid input"], "without the value, as before");
  });

  it("with the schema, an unknown key is told the known key it is a typo of, at any depth", () => {
    const told = (schema: z.ZodType, value: unknown) => formatIssues(schema.safeParse(value).error!, value, schema);
    assert.deepEqual(told(TrainConfigSchema, { training: { max_lenght: 256 } }), ['training: Unrecognized key: "max_lenght" (did you mean "max_length"?)']);
    assert.deepEqual(told(TrainConfigSchema, { traning: {} }), ['(root): Unrecognized key: "traning" (did you mean "training"?)']);
    assert.deepEqual(told(TrainConfigSchema, { training: { zzzzzz: 1 } }), ['training: Unrecognized key: "zzzzzz"'], "nothing near: no guess");
    assert.deepEqual(told(TrainConfigSchema, { training: { max_lenght: 256, zzzzzz: 1 } }), ['training: Unrecognized keys: "max_lenght", "zzzzzz" (did you mean "max_length" for "max_lenght"?)']);
    assert.deepEqual(told(ChatCompletionsRequestSchema, request({ max_token: 5 })), ['(root): Unrecognized key: "max_token" (did you mean "max_tokens"?)']);
    assert.deepEqual(told(ChatCompletionsRequestSchema, request({ messages: [{ role: "user", contnet: "hi" }] })).at(-1), 'messages.0: Unrecognized key: "contnet" (did you mean "content"?)');
    assert.deepEqual(problems(TrainConfigSchema, { training: { max_lenght: 256 } }), ['training: Unrecognized key: "max_lenght"'], "without the schema, as before");
  });
});

import assert from "node:assert/strict";
import { it } from "node:test";
import { countWords } from "./words.js";

it("counts words as split(/\\s+/) does, on every kind of whitespace", () => {
  const samples = ["", "   ", "one", " two  words ", "tab\tand\nnew\r\nlines", "no\u00a0break\u2009thin\u3000ideographic\ufeffbom\u2028line", "emoji 👍🏽 and café", "\u0085next\u180emongolian"];
  let state = 1;
  const alphabet = ["a", "b", " ", "\t", "\n", "\u00a0", "\u2028", "é", "\ud83d\udc4d", "\u200b", "\u0085"];
  for (let sample = 0; sample < 300; sample++) {
    let text = "";
    for (let index = 0; index < 1 + (sample % 17); index++) text += alphabet[(state = (state * 48271) % 2147483647) % alphabet.length];
    samples.push(text);
  }
  for (const text of samples) assert.equal(countWords(text), text.split(/\s+/).filter(Boolean).length, JSON.stringify(text));
});

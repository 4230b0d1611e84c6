import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { findStop, safeLength } from "./stop-strings.js";

describe("stop strings", () => {
  it("find the earliest stop and hold back a tail that may become one", () => {
    assert.equal(findStop("abc. def", [".", "d"]), 3);
    assert.equal(findStop("abc", ["x"]), -1);
    assert.equal(safeLength("hello wo", ["world"]), 6);
    assert.equal(safeLength("hello", ["world"]), 5);
    assert.equal(safeLength("w", ["world"]), 0);
  });
});

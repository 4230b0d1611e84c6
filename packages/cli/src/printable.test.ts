import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { printable } from "./printable.js";

describe("printable", () => {
  it("escapes what would drive a terminal (colours, window titles, NUL, bidi overrides) and keeps text, tabs and newlines", () => {
    assert.equal(printable("\u001b[31mred\u001b]0;title\u0007"), "\\x1b[31mred\\x1b]0;title\\x07");
    assert.equal(printable("a\u0000b\u007fc\u009bd"), "a\\x00b\\x7fc\\x9bd");
    assert.equal(printable("abc\u202edef"), "abc\\u202edef");
    assert.equal(printable("café, 5 ★\n\tnext"), "café, 5 ★\n\tnext");
  });
});

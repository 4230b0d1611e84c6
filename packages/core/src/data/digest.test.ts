import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { hash } from "node:crypto";
import { sha256Bytes, wordBE, wordLE } from "./digest.js";

describe("sha256Bytes", () => {
  it("is the SHA-256 digest, and its words are what Buffer reads from the same digest", () => {
    for (const text of ["", "bench-1:sentiment", "café ☕ 👍 naïve", "x".repeat(1000), "\u0000\n\u2028"]) {
      const buffer = hash("sha256", text, "buffer");
      const bytes = sha256Bytes(text);
      assert.equal(bytes.length, 32);
      assert.deepEqual(Buffer.from(bytes, "latin1"), buffer);
      for (let offset = 0; offset <= 28; offset += 4) {
        assert.equal(wordBE(bytes, offset), buffer.readUInt32BE(offset));
        assert.equal(wordLE(bytes, offset), buffer.readUInt32LE(offset));
      }
    }
  });
});

import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { writeFileAtomic } from "./files.js";

describe("writeFileAtomic", () => {
  it("makes a missing folder and leaves only the finished file in it", () => {
    // `generate --out answers/new.jsonl` writes after minutes of generation: a folder that is not
    // there yet must not throw ENOENT and lose the answers.
    const folder = join(mkdtempSync(join(tmpdir(), "reviewtune-files-")), "answers", "today");
    const file = join(folder, "out.jsonl");
    writeFileAtomic(file, "one\n");
    writeFileAtomic(file, "two\n");
    assert.equal(readFileSync(file, "utf8"), "two\n");
    assert.deepEqual(readdirSync(folder), ["out.jsonl"]);
  });
});

// The engine's allocator: TCMalloc where the library is, glibc's malloc where asked or missing, and
// the engine process really running with what was chosen (its /proc/<pid>/maps).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { engineAllocator, withAllocator } from "./allocator.js";
import { EngineClient } from "./client.js";

describe("engine allocator", () => {
  const folder = mkdtempSync(join(tmpdir(), "reviewtune-allocator-"));
  const library = join(folder, "libtcmalloc_minimal.so.4");
  writeFileSync(library, "");

  it("chooses TCMalloc where it is found, glibc's malloc where it is not or where asked, and says why", () => {
    if (process.platform !== "linux") return;
    assert.deepEqual(engineAllocator({}, [join(folder, "missing.so"), library]), { name: "tcmalloc", library, reason: "found on this machine" });
    const missing = engineAllocator({}, [join(folder, "missing.so")]);
    assert.equal(missing.name, "system");
    assert.match(missing.reason, /apt-get install libtcmalloc-minimal4/);
    assert.deepEqual(engineAllocator({ REVIEWTUNE_ALLOCATOR: "system" }, [library]), { name: "system", reason: "REVIEWTUNE_ALLOCATOR=system" });
    assert.equal(engineAllocator({ REVIEWTUNE_ALLOCATOR: library }, []).library, library);
    assert.match(engineAllocator({ REVIEWTUNE_ALLOCATOR: join(folder, "nope.so") }, [library]).reason, /does not exist/);
  });

  it("preloads the library ahead of what LD_PRELOAD already holds, and leaves the environment alone for the system allocator", () => {
    const env = withAllocator({ LD_PRELOAD: "/other.so" }, { name: "tcmalloc", library, reason: "" });
    assert.equal(env.LD_PRELOAD, `${library}:/other.so`);
    assert.ok(Number(env.TCMALLOC_LARGE_ALLOC_REPORT_THRESHOLD) >= 2 ** 40);
    const untouched = { LD_PRELOAD: "/other.so" };
    assert.equal(withAllocator(untouched, { name: "system", reason: "" }), untouched);
  });

  it("the engine process runs with the chosen allocator mapped, and without it when asked for the system one", async () => {
    if (process.platform !== "linux") return;
    for (const env of [process.env, { ...process.env, REVIEWTUNE_ALLOCATOR: "system" }]) {
      const engine = await EngineClient.start({ env });
      try {
        const maps = readFileSync(`/proc/${engine.pid}/maps`, "utf8");
        if (engine.allocator.library) assert.ok(maps.includes(engine.allocator.library), `${engine.allocator.library} is not mapped into the engine`);
        else assert.doesNotMatch(maps, /libtcmalloc/, `the engine runs ${engine.allocator.name} (${engine.allocator.reason}), yet TCMalloc is mapped`);
        if (env.REVIEWTUNE_ALLOCATOR === "system") assert.equal(engine.allocator.name, "system");
      } finally {
        await engine.shutdown();
      }
    }
  });
});

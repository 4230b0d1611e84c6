// The engine's memory allocator. PyTorch on a CPU allocates and frees activation tensors of a few MiB
// many times a step; glibc's malloc keeps what is freed in its heaps and per-thread arenas, so a LoRA
// run's resident memory settles far above what is live (`bench train`'s memory profile: the 135M model
// at batch 8 x 256 with activation checkpointing peaks at 3.95 GiB under glibc, 1.68 GiB under
// TCMalloc, at the same speed). TCMalloc (gperftools' minimal build, Debian's libtcmalloc-minimal4,
// which `npm run setup` installs where it can) reuses freed memory: it is preloaded into the engine
// when the library is on this machine. REVIEWTUNE_ALLOCATOR=system keeps glibc's; a path names another
// library to preload. Decision record 0019.
import { existsSync } from "node:fs";

const TCMALLOC = [
  "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4",
  "/usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4",
  "/usr/lib64/libtcmalloc_minimal.so.4",
  "/usr/lib/libtcmalloc_minimal.so.4",
];

export interface EngineAllocator {
  /** "tcmalloc", "system" (glibc's malloc), or the file name of a library REVIEWTUNE_ALLOCATOR named. */
  name: string;
  /** The library preloaded into the engine; none for the system allocator. */
  library?: string;
  /** Why this one: found, asked for, or what would install TCMalloc. */
  reason: string;
}

/** Which allocator the engine gets on this machine (`candidates`: where TCMalloc is looked for). */
export function engineAllocator(env: NodeJS.ProcessEnv = process.env, candidates: readonly string[] = TCMALLOC): EngineAllocator {
  const asked = env.REVIEWTUNE_ALLOCATOR?.trim();
  if (asked === "system") return { name: "system", reason: "REVIEWTUNE_ALLOCATOR=system" };
  if (asked && asked !== "tcmalloc") {
    if (!existsSync(asked)) return { name: "system", reason: `REVIEWTUNE_ALLOCATOR names ${asked}, which does not exist` };
    return { name: asked.split("/").pop()!, library: asked, reason: "REVIEWTUNE_ALLOCATOR" };
  }
  if (process.platform !== "linux") return { name: "system", reason: `preloading an allocator is done on Linux only (this is ${process.platform})` };
  const library = candidates.find((candidate) => existsSync(candidate));
  if (library) return { name: "tcmalloc", library, reason: "found on this machine" };
  return { name: "system", reason: "TCMalloc is not installed (Debian/Ubuntu: apt-get install libtcmalloc-minimal4); training keeps more memory resident without it" };
}

/** `env` with the allocator's library preloaded (ahead of any LD_PRELOAD already set). */
export function withAllocator(env: NodeJS.ProcessEnv, allocator: EngineAllocator): NodeJS.ProcessEnv {
  if (!allocator.library) return env;
  return {
    ...env,
    LD_PRELOAD: [allocator.library, env.LD_PRELOAD].filter(Boolean).join(":"),
    // TCMalloc reports every allocation over 1 GiB on stderr; the engine's logits chunks are bounded, its weights are not.
    TCMALLOC_LARGE_ALLOC_REPORT_THRESHOLD: env.TCMALLOC_LARGE_ALLOC_REPORT_THRESHOLD ?? String(2 ** 40),
  };
}

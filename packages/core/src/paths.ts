// Where things live: the repository (for presets and the engine's source) and the per-user cache.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, found from this file (packages/core/dist/...). */
export function projectRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(directory, "engine", "pyproject.toml"))) {
    const parent = dirname(directory);
    if (parent === directory) throw new Error("cannot find the reviewtune project root (engine/pyproject.toml)");
    directory = parent;
  }
  return directory;
}

/** Per-user cache (engine environments, prepared models): $REVIEWTUNE_CACHE or ~/.cache/reviewtune. */
export function cacheRoot(): string {
  return process.env.REVIEWTUNE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "reviewtune");
}

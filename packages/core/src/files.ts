// Outputs written whole or not at all: staged beside the target (the same filesystem, so the rename
// is atomic), hidden and named after this process (two writers never share one), then renamed over
// it. An interrupted write leaves no file that looks complete. The engine writes the same way
// (reviewtune_engine/files.py: staging_path, write_json_atomic).
import { renameSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** Where a file or folder is written before it is renamed over `target`: `.<name>.partial-<pid>` beside it. */
export function stagingPath(target: string): string {
  return join(dirname(target), `.${basename(target)}.partial-${process.pid}`);
}

/** `data` at `file`, whole or not at all. */
export function writeFileAtomic(file: string, data: string | NodeJS.ArrayBufferView): void {
  const staging = stagingPath(file);
  writeFileSync(staging, data);
  renameSync(staging, file);
}

/** `value` as indented JSON (with a final newline) at `file`, whole or not at all. */
export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

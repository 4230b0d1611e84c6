// `reviewtune refs`: update a dataset's reference index, then show the nearest training examples.
import { ReferenceIndex } from "@reviewtune/core";
import { startEngine } from "../engine.js";

export interface RefsOptions {
  data: string;
  k: number;
  task?: string;
  json?: boolean;
  verbose?: boolean;
}

const oneLine = (text: string, width: number) => {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
};

export async function runRefs(query: string | undefined, options: RefsOptions): Promise<void> {
  const index = await ReferenceIndex.open(options.data);
  const engine = await startEngine({ verbose: options.verbose ?? false });
  try {
    const update = await index.update(engine, {
      ...(process.stderr.isTTY ? { onProgress: (done: number, todo: number) => process.stderr.write(`\r  embedding training examples ${done}/${todo}...`) } : {}),
    });
    if (process.stderr.isTTY && update.added > 0) process.stderr.write("\r\x1b[K");
    console.error(
      `references: ${update.total} training examples indexed in ${options.data}/references` +
        (update.added || update.removed ? ` (${update.added} embedded, ${update.removed} removed, ${update.seconds.toFixed(1)} s)` : " (up to date)"),
    );
    if (query === undefined) return;
    const [references = []] = await index.search(engine, [query], { k: options.k, ...(options.task ? { task: options.task } : {}) });
    if (options.json) {
      console.log(JSON.stringify(references, null, 2));
      return;
    }
    if (references.length === 0) console.log("no references (the index is empty, or no example has that task)");
    for (const [rank, reference] of references.entries()) {
      console.log(`${rank + 1}. similarity ${reference.similarity.toFixed(3)}  [${reference.task}, review ${reference.group}]`);
      console.log(`   Q: ${oneLine(reference.prompt, 110)}`);
      console.log(`   A: ${oneLine(reference.answer, 110)}`);
    }
  } finally {
    await engine.shutdown();
  }
}

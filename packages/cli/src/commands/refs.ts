import type { Command } from "commander";
import { positiveInteger } from "./shared.js";
import type { RefsOptions } from "../actions/refs-action.js";

export function registerRefs(program: Command): void {
  program
    .command("refs")
    .description("the training examples most similar to a question (all-MiniLM-L6-v2 embeddings in an on-disk LanceDB index, built or updated on first use)")
    .argument("[query]", "the question or prompt to find references for; without it, only build or update the index")
    .requiredOption("--data <dir>", "a dataset folder from `data build` or `data demo` (the index lives in <dir>/references/)")
    .option("-k, --top <k>", "how many references", positiveInteger("--top"), 5)
    .option("--task <name>", "only examples of this task (sentiment, rating, quality, recommendation, features, summary, qa, ...)")
    .option("--json", "print the references as JSON")
    .option("--verbose", "show the engine's full log")
    .action(async (query: string | undefined, options: RefsOptions & { top: number }) => {
      const { runRefs } = await import("../actions/refs-action.js");
      await runRefs(query, { ...options, k: options.top });
    });
}

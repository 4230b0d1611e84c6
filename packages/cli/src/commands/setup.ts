import type { Command } from "commander";

export function registerSetup(program: Command): void {
  program
    .command("setup")
    .description("install the engine's Python environment (torch, transformers, peft, trl) and the embedded model; idempotent")
    .option("--force", "reinstall even if the environment is complete")
    .action(async (options: { force?: boolean }) => {
      const { ensureEngineEnvironment } = await import("@reviewtune/core");
      await ensureEngineEnvironment({ force: options.force ?? false, log: (line) => console.error(line) });
    });
}

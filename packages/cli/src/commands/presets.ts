import type { Command } from "commander";

export function registerPresets(program: Command): void {
  program
    .command("presets")
    .description("list the shipped presets (one per reference recipe)")
    .action(async () => {
      const { listPresets, resolveConfig } = await import("@reviewtune/core");
      for (const name of listPresets()) {
        const { config } = resolveConfig({ preset: name });
        console.log(`${name.padEnd(28)} ${config.recipe ? `[${config.recipe}] ` : ""}${config.description ?? ""}`);
      }
    });
}

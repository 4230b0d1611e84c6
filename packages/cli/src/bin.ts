#!/usr/bin/env node
// The `reviewtune` command: each command registers itself and lazily imports its action.
import { Command, CommanderError } from "commander";
import { registerAnalyze } from "./commands/analyze.js";
import { registerAsk, registerGenerate } from "./commands/ask.js";
import { registerBench } from "./commands/bench.js";
import { registerClassify } from "./commands/classify.js";
import { registerExport } from "./commands/export.js";
import { registerCompareMethods } from "./commands/compare-methods.js";
import { registerChat, registerTest } from "./commands/chat.js";
import { registerData } from "./commands/data.js";
import { registerDemo } from "./commands/demo.js";
import { registerEval } from "./commands/eval.js";
import { registerHuman } from "./commands/human.js";
import { registerPresets } from "./commands/presets.js";
import { registerRefs } from "./commands/refs.js";
import { registerServe } from "./commands/serve.js";
import { registerSetup } from "./commands/setup.js";
import { registerStudio } from "./commands/studio.js";
import { registerTrain } from "./commands/train.js";
import { EXIT, reportError } from "./exit.js";

// A reader that went away (`reviewtune data build ... | head`) ends the command quietly, as git and
// other Unix tools do: exit status 141 (128 + SIGPIPE), no stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    process.exit(EXIT.brokenPipe);
  });
}

const program = new Command("reviewtune")
  .description("Turn product reviews into a small fine-tuned open LLM, and prove it got better.")
  .version("0.1.0")
  .showHelpAfterError()
  .exitOverride();

for (const register of [registerDemo, registerSetup, registerData, registerTrain, registerClassify, registerCompareMethods, registerAsk, registerGenerate, registerEval, registerAnalyze, registerTest, registerChat, registerHuman, registerServe, registerStudio, registerExport, registerRefs, registerBench, registerPresets]) register(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // A value outside an option's choices (`--quant q9`) is a value that cannot be used, as our own
    // parsers say it (3); an unknown command or option, a missing one, is usage (2).
    process.exitCode = error.exitCode === 0 ? EXIT.ok : error.code === "commander.invalidArgument" ? EXIT.config : EXIT.usage;
  } else {
    reportError(error);
  }
}

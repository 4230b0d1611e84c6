import type { Command } from "commander";
import { collectSet, duration, finiteNumber, nonNegativeInteger, positiveInteger } from "./shared.js";
import type { TrainOptions } from "../actions/train-action.js";

export function registerTrain(program: Command): void {
  program
    .command("train")
    .description("fine-tune a model (LoRA, QLoRA or full; generative or with a classification head) into a run folder: runs/<id>/{run.json,metrics.jsonl,checkpoints,adapter}")
    .option("--preset <name>", "start from a shipped preset (see `reviewtune presets`)")
    .option("--config <file>", "start from a YAML config file")
    .option("--data <path>", "training data: JSONL ({messages} or {prompt, completion}), a folder with train.jsonl, or builtin:demo")
    .option("--model <source>", "embedded model name, local HF folder, .gguf file or hub id")
    .option("--method <method>", "lora | qlora | full")
    .option("--task <task>", "generate (instruction tuning, the default) | classify (a classification head, SEQ_CLS)")
    .option("--labels <labels>", "required with --task classify: rating (5 classes, from stars) | sentiment (negative/neutral/positive)")
    .option("--epochs <n>", "epochs", finiteNumber("--epochs"))
    .option("--max-steps <n>", "stop after n optimizer steps", positiveInteger("--max-steps"))
    .option("--time-budget <duration>", "train for this long (30m, 1h30m, 90s): the schedule is planned for the steps that fit and the run ends with its best checkpoint", duration("--time-budget"))
    .option("--lr <rate>", "learning rate", finiteNumber("--lr"))
    .option("--grounding <mode>", "nearest: every prompt carries its most similar training example and answer (questions and descriptions, recipes R2/R4; eval, ask, generate, chat, test and serve do the same) | none")
    .option("--batch-size <n>", "per-step batch size", positiveInteger("--batch-size"))
    .option("--allow-pickle", "allow loading pickle (.bin) weights you trust")
    .option("--set <key=value>", "override any config field, e.g. --set lora.r=8 (repeatable)", collectSet)
    .option("--nproc-per-node <n>", "train on n processes of this machine under torchrun (one per GPU; on a CPU, gloo); --batch-size is then per process", positiveInteger("--nproc-per-node"))
    .option("--nnodes <n>", "machines taking part (run the same command on each, with its --node-rank)", positiveInteger("--nnodes"))
    .option("--node-rank <r>", "this machine's rank among the nodes (0 writes the run's metrics and weights)", nonNegativeInteger("--node-rank"))
    .option("--master-addr <host>", "node 0's address, where the other nodes meet it")
    .option("--master-port <port>", "node 0's port for the rendezvous (default 29500 with several nodes)", positiveInteger("--master-port"))
    .option("--distributed <strategy>", "ddp (default) | fsdp | deepspeed-zero2 | deepspeed-zero3: how the processes share the model; the stock config is written into the run folder")
    .option("--runs-dir <dir>", "where run folders go", "runs")
    .option("--resume <run-dir>", "continue an interrupted run from its last complete checkpoint")
    .option("--dry-run", "validate the config and data and print the plan, without training")
    .option("--verbose", "show the engine's full log")
    .option("--events <ipc|file>", "also send machine-readable events (the run's folder, the end, a failure; contracts TrainChannelEvent), for programs that run train as a child: over Node's IPC channel, or as JSON lines appended to a file")
    .action(async (options: TrainOptions) => {
      const { runTrain } = await import("../actions/train-action.js");
      await runTrain(options);
    });
}


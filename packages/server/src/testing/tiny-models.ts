// Test fixtures built by the engine's own helpers: a tiny random Llama and PEFT adapters over it (a
// working one, a truncated one, an untrained one), and a run folder holding an adapter. No download.
import { runRecordFixture, trainResultFixture } from "@reviewtune/contracts/testing";
import { spawnSync } from "node:child_process";
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireEngineEnvironment } from "@reviewtune/core";

export interface TinyFixtures {
  work: string;
  model: string;
  adapters: { good: string; second: string; corrupt: string; untrained: string };
  /** A SEQ_CLS LoRA adapter with its head and classification.json, as a classification run saves it. */
  classifier: string;
  runsDir: string;
  runId: string;
}

/** One Python process for all of them: importing torch and PEFT is most of the time. */
function engineHelpers(code: string): void {
  const { python, engineSource } = requireEngineEnvironment();
  const made = spawnSync(python, ["-c", `from reviewtune_engine.testing import make_tiny_model, make_tiny_adapter, make_tiny_classifier_adapter\n${code}`], {
    encoding: "utf8",
    env: { ...process.env, PYTHONPATH: engineSource },
  });
  if (made.status !== 0) throw new Error(`building the tiny test models failed:\n${made.stderr}`);
}

export function makeTinyFixtures(): TinyFixtures {
  const work = mkdtempSync(join(tmpdir(), "reviewtune-serve-"));
  const model = join(work, "tiny-model");
  const classifier = join(work, "classifier");
  const adapters = { good: join(work, "good"), second: join(work, "second"), corrupt: join(work, "corrupt"), untrained: join(work, "untrained") };
  const path = JSON.stringify;
  engineHelpers(
    [
      `make_tiny_model(${path(model)})`,
      `make_tiny_adapter(${path(model)}, ${path(adapters.good)}, seed=1)`,
      `make_tiny_adapter(${path(model)}, ${path(adapters.second)}, seed=2)`,
      `make_tiny_adapter(${path(model)}, ${path(adapters.untrained)}, seed=3, trained=False)`,
      `make_tiny_classifier_adapter(${path(model)}, ${path(classifier)}, ["negative", "neutral", "positive"], seed=4)`,
    ].join("\n"),
  );
  cpSync(adapters.good, adapters.corrupt, { recursive: true });
  const weights = join(adapters.corrupt, "adapter_model.safetensors");
  truncateSync(weights, Math.floor(statSync(weights).size / 2));
  // A finished run as `reviewtune train` leaves it, for loading by run id.
  const runsDir = join(work, "runs");
  const runId = "20260101-000000-tiny";
  mkdirSync(join(runsDir, runId, "adapter"), { recursive: true });
  for (const file of ["adapter_config.json", "adapter_model.safetensors"]) copyFileSync(join(adapters.second, file), join(runsDir, runId, "adapter", file));
  writeFileSync(
    join(runsDir, runId, "run.json"),
    JSON.stringify(runRecordFixture({ id: runId, status: "completed", config: { model: { source: model } }, result: trainResultFixture({ adapter_dir: join(runsDir, runId, "adapter") }) })),
  );
  return { work, model, adapters, classifier, runsDir, runId };
}

/**
 * For the llama.cpp backend: the embedded SmolLM2's GGUF, and LoRA adapters over it (random B on all
 * seven projections, small enough that answers stay words) plus a truncated copy. No download. With
 * `q8`, also the GGUF requantized to Q8_0 by the engine, as serving uses it (`q8`, else undefined).
 */
export function makeSmolAdapters(weightStd = 0.01, options: { q8?: boolean } = {}): { work: string; gguf: string; q8: string | undefined; tuned: string; corrupt: string } {
  const work = mkdtempSync(join(tmpdir(), "reviewtune-smol-"));
  const tuned = join(work, "tuned");
  const corrupt = join(work, "corrupt");
  const gguf = join(work, "gguf-path.txt");
  const modules = JSON.stringify(["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]);
  engineHelpers(
    [
      "from reviewtune_engine.models import embedded_gguf_path, resolve",
      `make_tiny_adapter(resolve("smollm2-135m-instruct").path, ${JSON.stringify(tuned)}, seed=3, rank=8, weight_std=${weightStd}, target_modules=${modules})`,
      `open(${JSON.stringify(gguf)}, "w").write(str(embedded_gguf_path("smollm2-135m-instruct")))`,
      ...(options.q8
        ? ["from reviewtune_engine.gguf_quant import requantize_gguf", `requantize_gguf({"source": str(embedded_gguf_path("smollm2-135m-instruct")), "out": ${JSON.stringify(join(work, "q8_0.gguf"))}, "type": "Q8_0"})`]
        : []),
    ].join("\n"),
  );
  cpSync(tuned, corrupt, { recursive: true });
  const weights = join(corrupt, "adapter_model.safetensors");
  truncateSync(weights, Math.floor(statSync(weights).size / 2));
  return { work, gguf: readFileSync(gguf, "utf8"), q8: options.q8 ? join(work, "q8_0.gguf") : undefined, tuned, corrupt };
}

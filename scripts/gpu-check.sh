#!/usr/bin/env bash
# Issue 14's GPU check: reviewtune's LoRA and QLoRA training of a TinyLlama-1.1B-shaped model (random
# weights: speed and memory do not depend on them) against a plain transformers Trainer + PEFT script
# of the same model and rows, tokens/s and peak GPU memory; and two-GPU DDP when there are two GPUs.
#
#   scripts/gpu-check.sh [OUT_DIR]            # on a CUDA machine, after `npm run setup` (or npm test)
#   SHAPE=smollm2-135m STEPS=5 scripts/gpu-check.sh /tmp/check   # smaller, e.g. to try the script
#
# Prints a table and writes $OUT/gpu-check.json. Nothing is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-gpu-check}
SHAPE=${SHAPE:-tinyllama-1.1b}
STEPS=${STEPS:-30}
BATCH=${BATCH:-8}
mkdir -p "$OUT"
CLI="node packages/cli/bin/reviewtune.js"
PY=$(node -e 'import("@reviewtune/core").then((core) => console.log(core.requireEngineEnvironment().python))')
SRC=$(node -e 'import("@reviewtune/core").then((core) => console.log(core.requireEngineEnvironment().engineSource))')
CUDA=$("$PY" -c 'import torch; print(torch.cuda.device_count())')
echo "[gpu-check] CUDA devices: $CUDA; model shape $SHAPE; $STEPS steps of batch $BATCH"

echo "[gpu-check] a $SHAPE-shaped model with random weights"
PYTHONPATH="$SRC" "$PY" -m reviewtune_engine.testing make-shaped-model "$OUT/model" --shape "$SHAPE" >/dev/null
echo "[gpu-check] demo reviews as a dataset"
$CLI data demo --out "$OUT/data" --reviews 200 --force >/dev/null

common=(--model "$OUT/model" --data "$OUT/data" --max-steps "$STEPS" --batch-size "$BATCH" --runs-dir "$OUT/runs"
  --set training.gradient_accumulation=1 --set evaluation.strategy=no --set checkpoints.every_steps=100000 --set training.max_length=512)
results=()
train() { # name, extra options...
  local name=$1; shift
  echo "[gpu-check] reviewtune train: $name"
  local events="$OUT/$name.events.jsonl"; rm -f "$events"
  if $CLI train "${common[@]}" "$@" --events "$events" >"$OUT/$name.log" 2>&1; then
    local dir; dir=$(grep -o '"dir":"[^"]*"' "$events" | head -1 | cut -d'"' -f4)
    results+=("$("$PY" -c 'import json,sys; r=json.load(open(sys.argv[1]))["result"]; print(json.dumps({"recipe": sys.argv[2], "tokens_per_second": r["tokens_per_second"], "peak_gpu_memory_bytes": r["peak_memory_bytes"], "steps": r["global_step"], "distributed": r.get("distributed")}))' "$dir/run.json" "reviewtune $name")")
    echo "$dir" >"$OUT/$name.run"
  else
    echo "[gpu-check] $name failed: see $OUT/$name.log"; tail -5 "$OUT/$name.log"
    results+=("{\"recipe\": \"reviewtune $name\", \"error\": \"see $OUT/$name.log\"}")
  fi
}
train lora --method lora
[ "$CUDA" -ge 1 ] && train qlora --method qlora --set quantization.bits=4 --set quantization.compute_dtype=bfloat16
[ "$CUDA" -ge 2 ] && train lora-ddp2 --method lora --nproc-per-node 2 --batch-size $((BATCH / 2))

rows="$(cat "$OUT/lora.run" 2>/dev/null)/data/train.jsonl"
for method in lora qlora; do
  [ "$method" = qlora ] && [ "$CUDA" -lt 1 ] && continue
  echo "[gpu-check] plain Trainer + PEFT: $method"
  if line=$("$PY" scripts/gpu-baseline.py --model "$OUT/model" --data "$rows" --method "$method" --steps "$STEPS" --batch-size "$BATCH" 2>"$OUT/plain-$method.log" | tail -1); then
    results+=("$line")
  else
    echo "[gpu-check] plain $method failed: see $OUT/plain-$method.log"
  fi
done

printf '%s\n' "${results[@]}" | "$PY" -c '
import json, sys
rows = [json.loads(line) for line in sys.stdin if line.strip()]
json.dump(rows, open(sys.argv[1], "w"), indent=2)
print("\n| recipe | tokens/s | peak memory (GPU with CUDA) |\n|---|---|---|")
for row in rows:
    memory = row.get("peak_gpu_memory_bytes")
    speed = row.get("tokens_per_second", row.get("error"))
    print("| %s | %s | %s |" % (row["recipe"], speed, "%.2f GiB" % (memory / 2**30) if memory else "-"))
' "$OUT/gpu-check.json"

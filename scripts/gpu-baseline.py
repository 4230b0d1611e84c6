"""The plain recipe issue 14's GPU check compares reviewtune with: transformers' Trainer + PEFT LoRA
(or QLoRA) on the same model and rows, as a tutorial writes it (prompt + completion as one text, padded
to the longest in the batch, loss on every token). Prints one JSON line: tokens/s (all non-padding
tokens) and peak GPU memory.

    python scripts/gpu-baseline.py --model DIR --data runs/<id>/data/train.jsonl --method lora|qlora --steps 30 --batch-size 8
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from datasets import Dataset
from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig, DataCollatorForLanguageModeling, Trainer, TrainerCallback, TrainingArguments


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--method", choices=["lora", "qlora"], default="lora")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=512)
    args = parser.parse_args()

    tokenizer = AutoTokenizer.from_pretrained(args.model)
    rows = [json.loads(line) for line in open(args.data, encoding="utf-8") if line.strip()]
    texts = [row["prompt"] + row["completion"] for row in rows]
    dataset = Dataset.from_dict({"text": texts}).map(lambda batch: tokenizer(batch["text"], truncation=True, max_length=args.max_length), batched=True, remove_columns=["text"])
    cuda = torch.cuda.is_available()
    quantization = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16) if args.method == "qlora" else None
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.bfloat16 if cuda else torch.float32, quantization_config=quantization)
    if quantization is not None:
        model = prepare_model_for_kbit_training(model)
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], task_type="CAUSAL_LM"))

    class Timer(TrainerCallback):
        tokens = 0
        started = 0.0

        def on_train_begin(self, *_, **__):
            self.started = time.perf_counter()

    timer = Timer()
    collator = DataCollatorForLanguageModeling(tokenizer, mlm=False)

    def collate(examples):
        timer.tokens += sum(len(example["input_ids"]) for example in examples)
        return collator(examples)

    trainer = Trainer(
        model=model,
        args=TrainingArguments(output_dir="/tmp/gpu-baseline", max_steps=args.steps, per_device_train_batch_size=args.batch_size, learning_rate=2e-4, logging_steps=10, save_strategy="no", report_to=[], bf16=cuda, use_cpu=not cuda, remove_unused_columns=False),
        train_dataset=dataset,
        data_collator=collate,
        callbacks=[timer],
    )
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    trainer.train()
    seconds = time.perf_counter() - timer.started
    print(json.dumps({"recipe": f"plain Trainer + PEFT ({args.method})", "steps": args.steps, "tokens": timer.tokens, "tokens_per_second": round(timer.tokens / seconds, 1), "peak_gpu_memory_bytes": int(torch.cuda.max_memory_allocated()) if cuda else None}))


if __name__ == "__main__":
    main()

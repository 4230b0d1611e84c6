"""Exports: a LoRA adapter merged into its base, saved as plain transformers weights, and checked.

The merged folder (safetensors, config, tokenizer) loads with `AutoModelForCausalLM.from_pretrained`
and nothing of reviewtune or PEFT. It is written to `<out>.partial` and renamed when complete, so a
folder at `out` is always whole. After saving, the folder is loaded again, exactly as a user would,
and compared with base + adapter on the given prompts: next-token logits and greedy answers. Merging
changes the order of floating-point operations, so tiny logit differences are expected; a different
greedy answer is what a user would notice, and is reported.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from reviewtune_engine.errors import EngineError
from reviewtune_engine.files import honour_umask, staging_path
from reviewtune_engine.models import check_safetensors, load_model, load_tokenizer, resolve

SAMPLES = 3


def export_merged(params: dict) -> dict:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.perf_counter()
    reference, adapter, out = params["model"], Path(params["adapter"]), Path(params["out"])
    if not (adapter / "adapter_config.json").is_file():
        raise EngineError("adapter_not_found", f"{adapter} is not a PEFT adapter folder (no adapter_config.json)", hint="pass the adapter/ folder of a finished run", file=str(adapter))
    for weights in adapter.glob("*.safetensors"):
        check_safetensors(weights)
    if out.exists():
        raise EngineError("output_exists", f"{out} already exists", hint="choose another --out, or remove the old export first", file=str(out))

    resolved = resolve(reference["source"], allow_pickle=bool(reference.get("allow_pickle")), revision=reference.get("revision"))
    tokenizer = load_tokenizer(resolved)
    # A fresh copy of the base: merging writes into its weights, so the serving cache is never used.
    base = load_model(resolved, allow_pickle=bool(reference.get("allow_pickle")))
    try:
        tuned = PeftModel.from_pretrained(base, str(adapter)).eval()
    except (RuntimeError, ValueError, KeyError) as error:
        raise EngineError("adapter_incompatible", f"adapter {adapter} does not fit model {reference['source']}: {str(error).splitlines()[0]}", file=str(adapter)) from error
    prompts, max_new_tokens = params["prompts"], params.get("max_new_tokens", 32)
    before = [_answer(tuned, tokenizer, prompt, max_new_tokens) for prompt in prompts]

    merged = tuned.merge_and_unload()
    staging = staging_path(out)
    shutil.rmtree(staging, ignore_errors=True)
    merged.save_pretrained(staging, safe_serialization=True)
    tokenizer.save_pretrained(staging)
    honour_umask(staging)  # safetensors writes 0600: merged weights are meant to be shared
    staging.rename(out)
    del merged, tuned, base

    # The check loads what a user gets: the folder alone, through plain transformers.
    reloaded = AutoModelForCausalLM.from_pretrained(out, use_safetensors=True, dtype=torch.float32).eval()
    reloaded_tokenizer = AutoTokenizer.from_pretrained(out)
    after = [_answer(reloaded, reloaded_tokenizer, prompt, max_new_tokens) for prompt in prompts]

    differences = [(a["logits"] - b["logits"]).abs() for a, b in zip(before, after)]
    return {
        "out": str(out),
        "files": [{"name": file.name, "bytes": file.stat().st_size} for file in sorted(out.iterdir()) if file.is_file()],
        "dtype": str(reloaded.dtype).removeprefix("torch."),
        "seconds": round(time.perf_counter() - started, 3),
        "drift": {
            "prompts": len(prompts),
            "identical_answers": sum(a["ids"] == b["ids"] for a, b in zip(before, after)),
            "top1_agreement": sum(int(a["logits"].argmax()) == int(b["logits"].argmax()) for a, b in zip(before, after)),
            "max_abs_logit_diff": float(max(difference.max() for difference in differences)),
            "mean_abs_logit_diff": float(sum(difference.mean() for difference in differences) / len(differences)),
            "samples": [{"prompt": prompt, "adapter": a["text"], "merged": b["text"]} for prompt, a, b in list(zip(prompts, before, after))[:SAMPLES]],
        },
    }


def _answer(model, tokenizer, prompt: str, max_new_tokens: int) -> dict:
    """Next-token logits at the prompt's end and the greedy answer (ids and text)."""
    import torch

    encoded = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        logits = model(**encoded).logits[0, -1].float()
        generated = model.generate(
            **encoded,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
        )
    ids = generated[0, encoded["input_ids"].shape[1] :].tolist()
    return {"logits": logits, "ids": ids, "text": tokenizer.decode(ids, skip_special_tokens=True)}

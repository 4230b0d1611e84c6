"""Adapters for serving: load one under a name over the cached base, prove it changes the logits, unload it.

A server keeps several adapters over one base. An adapter that loads but changes nothing (an untrained
LoRA, B all zeros; a scale of 0) would be silently ignored, so loading ends with a probe: the same
prompt through the base and through the adapter, and the logit difference is reported.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from reviewtune_engine.errors import EngineError
from reviewtune_engine.models import ModelCache, hub_id

# Below this, the adapter is numerically the base model (float noise of fp32 matmuls is ~1e-6).
NO_EFFECT_THRESHOLD = 1e-4
DEFAULT_PROBE = "Analyze the sentiment of this review: The blender is great and the jar is sturdy."


def load_adapter(params: dict, cache: ModelCache) -> dict:
    reference, adapter = params["model"], params["adapter"]
    model, tokenizer = cache.get(reference)
    _check_base(Path(adapter), cache)
    peft_model, _, _ = cache.with_adapter(reference, adapter)
    probe = params.get("probe_prompt") or DEFAULT_PROBE
    difference = _probe(peft_model, tokenizer, probe)
    config = json.loads((Path(adapter) / "adapter_config.json").read_text())
    if difference["max_abs_logit_diff"] < NO_EFFECT_THRESHOLD:
        cache.unload_adapter(adapter)
        raise EngineError(
            "adapter_no_effect",
            f"adapter {adapter} loads but does not change the model's logits (max difference {difference['max_abs_logit_diff']:.2e})",
            hint="the adapter is untrained or scaled to zero: train it (reviewtune train) or pick another run",
            file=str(adapter),
        )
    return {
        "adapter": str(adapter),
        "rank": config.get("r"),
        "alpha": config.get("lora_alpha"),
        "base_model": config.get("base_model_name_or_path"),
        **difference,
    }


def unload_adapter(params: dict, cache: ModelCache) -> dict:
    return {"unloaded": cache.unload_adapter(params["adapter"])}


def _check_base(adapter: Path, cache: ModelCache) -> None:
    """An adapter records the folder (or hub id) of its base. When that still exists and is not ours, refuse."""
    config_file = adapter / "adapter_config.json"
    if not config_file.is_file():
        return  # with_adapter reports it with the fix
    try:
        recorded = json.loads(config_file.read_text()).get("base_model_name_or_path")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise EngineError("adapter_config_invalid", f"{config_file} is not valid JSON ({error})", hint="restore the file from the run's adapter/ folder", file=str(config_file)) from error
    ours = cache.resolved
    if not recorded or ours is None:
        return
    same = recorded in (ours.source, ours.path, hub_id(ours))  # trained adapters name the embedded model by its hub id
    if not same and os.path.isdir(recorded) and os.path.isdir(ours.path):
        same = os.path.realpath(recorded) == os.path.realpath(ours.path)
    # A recorded folder that no longer exists (a moved model) cannot be compared: the shapes decide.
    if not same and (os.path.isdir(recorded) or not recorded.startswith(("/", "."))):
        raise EngineError(
            "adapter_wrong_base",
            f"adapter {adapter} was trained on {recorded}, not on {ours.source}",
            hint="serve it with the base model it was trained on (its adapter_config.json names it)",
            file=str(config_file),
        )


def _probe(peft_model, tokenizer, prompt: str) -> dict:
    import torch

    encoded = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        tuned = peft_model(**encoded).logits[0, -1].float()
        with peft_model.disable_adapter():
            base = peft_model(**encoded).logits[0, -1].float()
    difference = (tuned - base).abs()
    return {
        "max_abs_logit_diff": float(difference.max()),
        "mean_abs_logit_diff": float(difference.mean()),
        "top1_changed": int(tuned.argmax()) != int(base.argmax()),
        "probe_tokens": int(encoded["input_ids"].shape[1]),
    }

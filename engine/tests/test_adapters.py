"""Serving adapters: load with a logit probe, refuse adapters that do nothing or belong to another base,
unload back to the exact base logits, and generate reports prompt token counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewtune_engine.adapters import load_adapter, unload_adapter
from reviewtune_engine.errors import EngineError
from reviewtune_engine.generate import generate
from reviewtune_engine.models import ModelCache
from reviewtune_engine.testing import make_tiny_adapter, make_tiny_model


@pytest.fixture(scope="module")
def adapters(tiny_model, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("adapters")
    other_base = make_tiny_model(root / "other-base", seed=1)
    return {
        "trained": make_tiny_adapter(tiny_model, root / "trained", seed=1),
        "second": make_tiny_adapter(tiny_model, root / "second", seed=2),
        "untrained": make_tiny_adapter(tiny_model, root / "untrained", seed=3, trained=False),
        "other_base": make_tiny_adapter(other_base, root / "other", seed=4),
    }


def base_logits(cache: ModelCache, reference: dict):
    import torch

    model, tokenizer, _ = cache.with_adapter(reference, None)
    encoded = tokenizer("The blender is great", return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode(), (model.disable_adapter() if hasattr(model, "disable_adapter") else torch.inference_mode()):
        return model(**encoded).logits[0, -1].clone()


def test_load_probes_two_adapters_and_unload_restores_the_base(tiny_model, adapters):
    import torch

    reference = {"source": str(tiny_model)}
    cache = ModelCache()
    before = base_logits(cache, reference)
    first = load_adapter({"model": reference, "adapter": str(adapters["trained"])}, cache)
    second = load_adapter({"model": reference, "adapter": str(adapters["second"])}, cache)
    assert first["max_abs_logit_diff"] > 1e-3 and second["max_abs_logit_diff"] > 1e-3
    assert first["rank"] == 4
    # Generation picks the adapter by path; the base is untouched by either.
    prompt = "<|im_start|>user\nIs it good?<|im_end|>\n<|im_start|>assistant\n"
    tuned = generate({"model": reference, "adapter": str(adapters["trained"]), "prompts": [prompt], "max_new_tokens": 3}, cache, lambda _: None, lambda: False)
    assert tuned["adapter_loaded"] and tuned["outputs"][0]["prompt_tokens"] > 3
    assert torch.allclose(base_logits(cache, reference), before, atol=1e-5)
    assert unload_adapter({"adapter": str(adapters["trained"])}, cache) == {"unloaded": True}
    assert unload_adapter({"adapter": str(adapters["second"])}, cache) == {"unloaded": True}
    assert unload_adapter({"adapter": str(adapters["second"])}, cache) == {"unloaded": False}
    assert torch.allclose(base_logits(cache, reference), before, atol=1e-5)


def test_refuses_untrained_other_base_missing_and_corrupt_adapters(tiny_model, adapters, tmp_path):
    import shutil

    reference = {"source": str(tiny_model)}
    cache = ModelCache()
    with pytest.raises(EngineError) as untrained:
        load_adapter({"model": reference, "adapter": str(adapters["untrained"])}, cache)
    assert untrained.value.code == "adapter_no_effect"
    with pytest.raises(EngineError) as other:
        load_adapter({"model": reference, "adapter": str(adapters["other_base"])}, cache)
    assert other.value.code == "adapter_wrong_base" and "other-base" in other.value.message
    with pytest.raises(EngineError) as missing:
        load_adapter({"model": reference, "adapter": str(tmp_path / "nope")}, cache)
    assert missing.value.code == "adapter_not_found"
    corrupt = tmp_path / "corrupt"
    shutil.copytree(adapters["trained"], corrupt)
    weights = corrupt / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(EngineError) as broken:
        load_adapter({"model": reference, "adapter": str(corrupt)}, cache)
    assert broken.value.code == "corrupt_weights" and broken.value.file == str(weights)
    # A missing weights file and an unreadable config are named as such (not "other shapes" or "damaged weights").
    no_weights = tmp_path / "no-weights"
    shutil.copytree(adapters["trained"], no_weights)
    (no_weights / "adapter_model.safetensors").unlink()
    with pytest.raises(EngineError) as missing_weights:
        load_adapter({"model": reference, "adapter": str(no_weights)}, cache)
    assert missing_weights.value.code == "adapter_weights_missing" and "no adapter_model.safetensors" in missing_weights.value.message
    bad_config = tmp_path / "bad-config"
    shutil.copytree(adapters["trained"], bad_config)
    (bad_config / "adapter_config.json").write_text('{"r": 8,')
    with pytest.raises(EngineError) as invalid:
        load_adapter({"model": reference, "adapter": str(bad_config)}, cache)
    assert invalid.value.code == "adapter_config_invalid" and "not valid JSON" in invalid.value.message
    with pytest.raises(EngineError) as invalid_on_generate:
        cache.with_adapter(reference, str(bad_config))
    assert invalid_on_generate.value.code == "adapter_config_invalid"
    # After all those failures a good adapter still loads and the base still answers.
    assert load_adapter({"model": reference, "adapter": str(adapters["trained"])}, cache)["top1_changed"] in (True, False)

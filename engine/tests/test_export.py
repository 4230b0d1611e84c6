"""Merged export: the adapter folded into the base, saved as plain transformers weights that load on
their own and answer like base + adapter; drift measured; never a half-written folder."""

from __future__ import annotations

import pytest

from reviewtune_engine.errors import EngineError
from reviewtune_engine.export import export_merged
from reviewtune_engine.files import current_umask
from reviewtune_engine.testing import make_tiny_adapter

PROMPTS = ["The blender is great", "Broke after two days, returned it", "It is a kettle"]


@pytest.fixture(scope="module")
def adapter(tiny_model, tmp_path_factory):
    return make_tiny_adapter(tiny_model, tmp_path_factory.mktemp("export") / "adapter", seed=5)


def params(tiny_model, adapter, out) -> dict:
    return {"model": {"source": str(tiny_model), "allow_pickle": False}, "adapter": str(adapter), "out": str(out), "prompts": PROMPTS, "max_new_tokens": 8}


def test_merged_folder_loads_in_plain_transformers_and_matches_the_adapter(tiny_model, adapter, tmp_path):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "merged"
    result = export_merged(params(tiny_model, adapter, out))

    assert out.is_dir() and not (tmp_path / "merged.partial").exists()
    names = {file["name"] for file in result["files"]}
    assert "model.safetensors" in names and "config.json" in names and "tokenizer_config.json" in names
    assert not (out / "adapter_config.json").exists(), "merged weights, not an adapter"
    # safetensors writes 0600; merged weights are for sharing, so they get the user's umask like any file.
    assert {path.stat().st_mode & 0o777 for path in out.iterdir()} == {0o666 & ~current_umask()}
    drift = result["drift"]
    assert drift["prompts"] == 3 and drift["identical_answers"] == 3 and drift["top1_agreement"] == 3
    assert drift["max_abs_logit_diff"] < 1e-3, drift
    assert len(drift["samples"]) == 3 and drift["samples"][0]["adapter"] == drift["samples"][0]["merged"]

    # Checked independently here: the merged folder's logits equal base + adapter's, and differ from the base's.
    tokenizer = AutoTokenizer.from_pretrained(out)
    encoded = tokenizer(PROMPTS[1], return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        merged = AutoModelForCausalLM.from_pretrained(out)(**encoded).logits[0, -1]
        base_model = AutoModelForCausalLM.from_pretrained(tiny_model)
        base = base_model(**encoded).logits[0, -1]
        tuned = PeftModel.from_pretrained(base_model, str(adapter))(**encoded).logits[0, -1]
    assert torch.allclose(merged, tuned, atol=1e-4)
    assert (merged - base).abs().max() > 1e-3


def test_refuses_an_existing_output_and_a_folder_that_is_no_adapter(tiny_model, adapter, tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    with pytest.raises(EngineError) as error:
        export_merged(params(tiny_model, adapter, taken))
    assert error.value.code == "output_exists"
    with pytest.raises(EngineError) as error:
        export_merged(params(tiny_model, tmp_path, tmp_path / "out"))
    assert error.value.code == "adapter_not_found"
    assert not (tmp_path / "out").exists()


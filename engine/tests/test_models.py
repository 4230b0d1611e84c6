"""Model loading: local folders, pickle refusal, corrupt weights, missing paths, offline hub ids, and
(slow) the real embedded SmolLM2 with its repaired GGUF tokenizer."""

from __future__ import annotations

import shutil

import pytest
import torch

from conftest import train_config, write_jsonl, sentiment_rows
from reviewtune_engine import models
from reviewtune_engine.errors import EngineError


def test_local_folder_loads(tiny_model):
    resolved = models.resolve(str(tiny_model))
    assert resolved.kind == "local_folder"
    model = models.load_model(resolved)
    tokenizer = models.load_tokenizer(resolved)
    assert model.config.model_type == "llama" and tokenizer.eos_token == "<|im_end|>"


def test_pickle_weights_are_refused_unless_allowed(tmp_path, tiny_model):
    folder = tmp_path / "pickled"
    shutil.copytree(tiny_model, folder)
    model = models.load_model(models.resolve(str(tiny_model)))
    (folder / "model.safetensors").unlink()
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    with pytest.raises(EngineError) as caught:
        models.resolve(str(folder))
    assert caught.value.code == "pickle_refused"
    assert caught.value.file.endswith("pytorch_model.bin") and "--allow-pickle" in caught.value.hint
    resolved = models.resolve(str(folder), allow_pickle=True)
    loaded = models.load_model(resolved, allow_pickle=True)
    assert torch.equal(loaded.model.embed_tokens.weight, model.model.embed_tokens.weight)


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_safetensors_names_the_file(tmp_path, tiny_model, damage):
    folder = tmp_path / "corrupt"
    shutil.copytree(tiny_model, folder)
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"\x00garbage" * 10)
    with pytest.raises(EngineError) as caught:
        models.resolve(str(folder))
    assert caught.value.code == "corrupt_weights" and caught.value.file == str(weights)


def test_missing_folder_and_gguf(tmp_path):
    for source in [str(tmp_path / "nope"), "./models/nope", str(tmp_path / "model.gguf")]:
        with pytest.raises(EngineError) as caught:
            models.resolve(source)
        assert caught.value.code == "model_not_found" and caught.value.field == "model.source"


def test_folder_without_config(tmp_path):
    (tmp_path / "weights.safetensors").write_bytes(b"")
    with pytest.raises(EngineError) as caught:
        models.resolve(str(tmp_path))
    assert "config.json" in caught.value.message


def test_hub_id_offline_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    resolved = models.resolve("reviewtune-tests/no-such-model")
    assert resolved.kind == "hub"
    with pytest.raises(EngineError) as caught:
        models.load_tokenizer(resolved)
    assert caught.value.code == "offline"
    assert "hf download reviewtune-tests/no-such-model" in caught.value.hint


# ---- the real embedded model (slow: dequantizes the GGUF once, then reuses the cached folder) -----

# Token ids of SmolLM2's original tokenizer (digits split one by one before the byte-level regex),
# which llama.cpp reproduces; transformers' GGUF conversion alone gives [216, 216, 36, 34, 256] for
# the first string.
KNOWN_IDS = {
    "  42  ": [256, 36, 34, 256],
    "I paid 1299 dollars for 3 items": [57, 5940, 216, 33, 34, 41, 41, 8358, 327, 216, 35, 3723],
    "12345": [33, 34, 35, 36, 37],
}


@pytest.mark.slow
def test_embedded_tokenizer_splits_digits_like_the_original():
    resolved = models.resolve("smollm2-135m-instruct")
    tokenizer = models.load_tokenizer(resolved)
    for text, ids in KNOWN_IDS.items():
        assert tokenizer(text, add_special_tokens=False)["input_ids"] == ids, text
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.eos_token_id == 2


@pytest.mark.slow
def test_gguf_file_loads_dequantized_with_the_same_tokenizer_fix():
    gguf = models.embedded_gguf_path("smollm2-135m-instruct")
    resolved = models.resolve(str(gguf))
    assert resolved.kind == "gguf_file"
    tokenizer = models.load_tokenizer(resolved)
    assert tokenizer("  42  ", add_special_tokens=False)["input_ids"] == KNOWN_IDS["  42  "]


@pytest.mark.slow
def test_embedded_model_generates_and_trains_a_few_lora_steps(tmp_path):
    from reviewtune_engine.generate import generate
    from reviewtune_engine.train import train

    cache = models.ModelCache()
    prompt = "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"
    events = []
    result = generate({"model": {"source": "smollm2-135m-instruct"}, "prompts": [prompt], "max_new_tokens": 8, "stream": True}, cache, events.append, lambda: False)
    assert result["outputs"][0]["new_tokens"] > 0 and result["outputs"][0]["text"].strip()
    assert "".join(event["text"] for event in events) == result["outputs"][0]["text"]

    config = train_config("smollm2-135m-instruct", training={"max_steps": 3, "learning_rate": 1e-3, "batch_size": 2, "gradient_accumulation": 1, "max_length": 64})
    config["model"] = {"source": "smollm2-135m-instruct", "allow_pickle": False}
    params = {"run_dir": str(tmp_path / "run"), "config": config, "train_file": write_jsonl(tmp_path / "t.jsonl", sentiment_rows(6)), "resume": False}
    trained = train(params, lambda event: None, lambda: False)
    assert trained["status"] == "completed" and trained["global_step"] == 3
    assert trained["parameters"]["total"] > 134_000_000 and trained["parameters"]["trainable"] > 0
    assert (tmp_path / "run" / "adapter" / "adapter_model.safetensors").is_file()

"""The score method: log-probabilities of continuations equal a plain unbatched forward pass, whatever
the batching and padding, and the adapter switch works as for generation."""

from __future__ import annotations

import pytest
import torch

from reviewtune_engine.errors import EngineError
from reviewtune_engine.models import ModelCache


def reference_logprob(model, tokenizer, prompt: str, continuation: str) -> float:
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    continuation_ids = tokenizer(continuation, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt_ids + continuation_ids])
    with torch.inference_mode():
        log_probs = torch.log_softmax(model(input_ids=ids).logits.float(), dim=-1)[0]
    return sum(float(log_probs[len(prompt_ids) - 1 + offset, token]) for offset, token in enumerate(continuation_ids))


def test_scores_match_an_unbatched_forward_pass(tiny_model):
    from reviewtune_engine.score import score

    cache = ModelCache()
    reference = {"source": str(tiny_model)}
    prompts = ["<|im_start|>user\nIs it good?<|im_end|>\n<|im_start|>assistant\nSentiment:", "Short"]
    candidates = [" positive", " neutral", " negative and a much longer tail"]
    batched = score({"model": reference, "prompts": prompts, "candidates": [candidates], "batch_size": 4}, cache, lambda: False)
    single = score({"model": reference, "prompts": prompts, "candidates": [candidates], "batch_size": 1}, cache, lambda: False)
    model, tokenizer = cache.get(reference)
    assert len(batched["scores"]) == 2 and all(len(row) == 3 for row in batched["scores"])
    for prompt_index, prompt in enumerate(prompts):
        for candidate_index, candidate in enumerate(candidates):
            expected = reference_logprob(model, tokenizer, prompt, candidate)
            got = batched["scores"][prompt_index][candidate_index]
            assert got["tokens"] == len(tokenizer(candidate, add_special_tokens=False)["input_ids"])
            assert got["logprob"] < 0
            assert got["logprob"] == pytest.approx(expected, abs=1e-4)
            assert single["scores"][prompt_index][candidate_index]["logprob"] == pytest.approx(expected, abs=1e-4)
    assert batched["adapter_loaded"] is False


def test_per_prompt_candidates_and_a_wrong_count_is_named(tiny_model):
    from reviewtune_engine.score import score

    cache = ModelCache()
    reference = {"source": str(tiny_model)}
    result = score({"model": reference, "prompts": ["a b", "c d"], "candidates": [[" x"], [" y", " z"]]}, cache, lambda: False)
    assert [len(row) for row in result["scores"]] == [1, 2]
    with pytest.raises(EngineError) as raised:
        score({"model": reference, "prompts": ["a", "b", "c"], "candidates": [[" x"], [" y"]]}, cache, lambda: False)
    assert raised.value.field == "candidates"

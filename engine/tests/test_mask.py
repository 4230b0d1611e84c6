"""The loss mask covers exactly the answer: the prompt's tokens get label -100, the completion's
tokens (answer + end-of-turn) keep their ids, for strings rendered by the Node side's chat template
(the same renderings packages/core checks against transformers: __fixtures__/chat-templates.json)."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT
from reviewtune_engine import models
from reviewtune_engine.train import tokenize_rows

FIXTURES = json.loads((ROOT / "packages" / "core" / "__fixtures__" / "chat-templates.json").read_text())


def split(fixture: dict) -> list[dict]:
    """prompt = rendering with the generation prompt, completion = the rest of the full rendering."""
    cases = fixture["cases"]
    rows = []
    for full, prompt in zip(cases[0::2], cases[1::2]):
        assert not full["add_generation_prompt"] and prompt["add_generation_prompt"]
        assert full["text"].startswith(prompt["text"])
        rows.append({"prompt": prompt["text"], "completion": full["text"][len(prompt["text"]) :]})
    return rows


def check_mask(tokenizer, rows: list[dict]) -> None:
    examples, dropped = tokenize_rows(rows, tokenizer, max_length=4096)
    assert dropped == 0
    for row, example in zip(rows, examples):
        prompt_length = len(tokenizer(row["prompt"], add_special_tokens=False)["input_ids"])
        labels = example["labels"]
        assert labels[:prompt_length] == [-100] * prompt_length
        trained = [label for label in labels if label != -100]
        assert len(trained) == len(labels) - prompt_length
        assert tokenizer.decode(trained) == row["completion"]


def test_mask_covers_exactly_the_answer_with_a_tiny_tokenizer(tiny_model):
    tokenizer = models.load_tokenizer(models.resolve(str(tiny_model)))
    rows = split(FIXTURES[0]) + [{"prompt": "Q: is it good?\nA:", "completion": " yes<|im_end|>"}]
    check_mask(tokenizer, rows)


@pytest.mark.slow
def test_mask_covers_exactly_the_answer_with_smollm2():
    tokenizer = models.load_tokenizer(models.resolve("smollm2-135m-instruct"))
    smollm = next(fixture for fixture in FIXTURES if fixture["name"] == "smollm2-135m-instruct")
    check_mask(tokenizer, split(smollm))

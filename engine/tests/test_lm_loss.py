"""The loss computed only where labels are (lm_loss.py) equals the model's own causal-LM loss, and
its gradients are the same, for padding-free and padded batches, with and without the Trainer's
token count; the logits it keeps are only the labelled positions."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

from reviewtune_engine.lm_loss import LabelledLoss, LogitsWhereLabelled, labelled_positions
from reviewtune_engine.train import tokenize_rows

from conftest import chat


def _examples(tokenizer):
    rows = [chat("Is the blender good?", "Sentiment: positive."), chat("Battery died in a week. Thoughts?", "Sentiment: negative. The battery failed."), chat("ok", "Neutral.")]
    examples, dropped = tokenize_rows(rows, tokenizer, 128)
    assert not dropped and len(examples) == 3
    return examples


@pytest.mark.parametrize("padding_free", [True, False])
@pytest.mark.parametrize("count", [None, 7])
def test_labelled_loss_equals_the_model_loss_with_the_same_gradients(tiny_model, padding_free, count):
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    inner = DataCollatorForLanguageModeling(pad_token_id=tokenizer.pad_token_id, padding_free=padding_free)
    examples = _examples(tokenizer)

    full = inner(examples)
    extra = {"num_items_in_batch": torch.tensor(count)} if count else {}
    reference = model(**full, **extra).loss
    reference.backward()
    expected = {name: parameter.grad.clone() for name, parameter in model.named_parameters() if parameter.grad is not None}
    model.zero_grad()

    batch = LogitsWhereLabelled(inner)(examples)
    labels = batch.pop("labels")
    outputs = model(**batch)
    kept = labelled_positions(labels)
    assert outputs.logits.shape[1] == len(kept) < labels.shape[1] - 1, "logits only where a label follows"
    if padding_free:
        assert len(kept) == int((labels != -100).sum()), "one row: exactly the labelled tokens"
    loss = LabelledLoss()(outputs, labels, num_items_in_batch=torch.tensor(count) if count else None)
    assert torch.allclose(loss, reference, atol=1e-5), (float(loss), float(reference))
    loss.backward()
    for name, parameter in model.named_parameters():
        if parameter.grad is not None:
            assert torch.allclose(parameter.grad, expected[name], atol=1e-5, rtol=1e-4), name

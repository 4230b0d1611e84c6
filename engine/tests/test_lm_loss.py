"""The loss computed only where labels are (lm_loss.py) equals the model's own causal-LM loss, and
its gradients are the same, for padding-free and padded batches, with and without the Trainer's
token count; the logits it keeps are only the labelled positions."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as functional
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

from reviewtune_engine.lm_loss import CHUNK_ROWS, LabelledLoss, LogitsWhereLabelled, SummedCrossEntropy, labelled_positions
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


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_summed_cross_entropy_equals_autograds_and_keeps_only_the_logits(dtype):
    torch.manual_seed(0)
    rows = 2 * CHUNK_ROWS + 17  # chunks of several sizes
    logits = (3 * torch.randn(rows, 1000)).to(dtype).requires_grad_()
    targets = torch.randint(0, 1000, (rows,))
    targets[::5] = -100
    targets[CHUNK_ROWS : 2 * CHUNK_ROWS] = -100  # a chunk with nothing to learn

    reference = functional.cross_entropy(logits.float(), targets, ignore_index=-100, reduction="sum") / 3
    (expected,) = torch.autograd.grad(reference, logits)

    saved: list[torch.Tensor] = []
    with torch.autograd.graph.saved_tensors_hooks(lambda tensor: saved.append(tensor) or tensor, lambda tensor: tensor):
        loss = SummedCrossEntropy.apply(logits, targets) / 3
    (grad,) = torch.autograd.grad(loss, logits)

    assert torch.allclose(loss, reference, rtol=1e-6), (float(loss), float(reference))
    assert grad.dtype == dtype
    assert torch.allclose(grad.float(), expected.float(), atol=1e-6 if dtype == torch.float32 else 1e-3)
    assert torch.all(grad[CHUNK_ROWS : 2 * CHUNK_ROWS] == 0)
    # What the backward pass keeps: the logits and the targets, no fp32 copy or softmax of the logits' size.
    assert sum(tensor.numel() * tensor.element_size() for tensor in saved) == logits.numel() * logits.element_size() + targets.numel() * 8

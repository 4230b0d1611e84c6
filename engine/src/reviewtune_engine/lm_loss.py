"""The language-model loss computed only where it is defined.

With completion-only training most positions carry no label (the prompt: system turn, question,
review), yet a causal LM's forward applies its head (49,152 x 576 on SmolLM2, about a fifth of the
model's FLOPs) to every position and keeps a tokens x vocabulary logits tensor for the backward pass.
Here the collator names the positions whose next token has a label (`logits_to_keep`, which
transformers' causal LMs accept as a tensor of positions), the model applies its head there only,
and the loss is the same cross-entropy over the same tokens: equal to the model's own loss to float
tolerance (tests/test_lm_loss.py), with the head's FLOPs and the logits' memory cut to the labelled
share. A batch's rows share one position set (the union), so padded batches keep a little more than
they need; padding-free batches are one row and keep exactly the labelled positions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as functional


def labelled_positions(labels: torch.Tensor) -> torch.Tensor:
    """Positions p (0..T-2) whose next token p+1 carries a label in some row."""
    return (labels[:, 1:] != -100).any(dim=0).nonzero().squeeze(-1)


class LogitsWhereLabelled:
    """Collator wrapper: adds `logits_to_keep`, the labelled positions, to every batch."""

    def __init__(self, inner):
        self.inner = inner

    def __call__(self, examples):
        batch = self.inner(examples)
        batch["logits_to_keep"] = labelled_positions(batch["labels"])
        return batch


class LabelledLoss:
    """The Trainer's compute_loss_func for a batch from LogitsWhereLabelled: the model's logits are
    only at the labelled positions. Summed cross-entropy over the labelled tokens divided by
    num_items_in_batch (the labelled tokens of the whole accumulated step, as transformers' own
    causal-LM loss does), or their mean when no count is given (evaluation)."""

    def __call__(self, outputs, labels, num_items_in_batch=None):
        logits = outputs["logits"] if isinstance(outputs, dict) else outputs[0]
        labels = labels.to(logits.device)
        targets = labels[:, 1:][:, labelled_positions(labels)]
        loss = functional.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100, reduction="sum")
        if num_items_in_batch is None:
            return loss / (targets != -100).sum().clamp(min=1)
        if torch.is_tensor(num_items_in_batch):
            num_items_in_batch = num_items_in_batch.to(loss.device)
        return loss / num_items_in_batch

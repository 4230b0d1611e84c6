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

The cross-entropy over those logits is computed in chunks of rows (SummedCrossEntropy): autograd's
own path keeps, beside the logits, an fp32 copy's log-softmax for the backward pass and makes two
fp32 gradients of the logits' size there, 8 to 12 bytes a logit next to the logits' 2 (bf16) or 4;
here only the logits are kept, and the softmax is recomputed a chunk at a time in the backward pass.
"""

from __future__ import annotations

import torch
import torch.nn.functional as functional

# Logit rows per chunk of SummedCrossEntropy: 64 x 49,152 fp32 values are 12 MiB.
CHUNK_ROWS = 64


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


class SummedCrossEntropy(torch.autograd.Function):
    """sum over rows of cross_entropy(logits.float(), targets), rows whose target is -100 left out,
    with the gradient autograd would give; only `logits` is saved, and fp32 work is one chunk of
    CHUNK_ROWS rows at a time, in both passes."""

    @staticmethod
    def forward(ctx, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        total = torch.zeros((), dtype=torch.float32, device=logits.device)
        for start in range(0, logits.shape[0], CHUNK_ROWS):
            chunk = logits[start : start + CHUNK_ROWS].float()
            total += functional.cross_entropy(chunk, targets[start : start + CHUNK_ROWS], ignore_index=-100, reduction="sum")
        ctx.save_for_backward(logits, targets)
        return total

    @staticmethod
    def backward(ctx, grad_total: torch.Tensor):
        logits, targets = ctx.saved_tensors
        grad = torch.empty_like(logits)
        for start in range(0, logits.shape[0], CHUNK_ROWS):
            rows = slice(start, start + CHUNK_ROWS)
            chunk_targets = targets[rows]
            # d/dlogits of -log softmax(logits)[target] = softmax - onehot(target); 0 where ignored.
            probabilities = torch.softmax(logits[rows].float(), dim=-1)
            kept = chunk_targets != -100
            probabilities[kept.nonzero().squeeze(-1), chunk_targets[kept]] -= 1.0
            probabilities[~kept] = 0.0
            grad[rows] = (probabilities * grad_total).to(grad.dtype)
        return grad, None


class LabelledLoss:
    """The Trainer's compute_loss_func for a batch from LogitsWhereLabelled: the model's logits are
    only at the labelled positions. Summed cross-entropy over the labelled tokens divided by
    num_items_in_batch (the labelled tokens of the whole accumulated step, as transformers' own
    causal-LM loss does), or their mean when no count is given (evaluation)."""

    def __call__(self, outputs, labels, num_items_in_batch=None):
        logits = outputs["logits"] if isinstance(outputs, dict) else outputs[0]
        labels = labels.to(logits.device)
        targets = labels[:, 1:][:, labelled_positions(labels)]
        loss = SummedCrossEntropy.apply(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        if num_items_in_batch is None:
            return loss / (targets != -100).sum().clamp(min=1)
        if torch.is_tensor(num_items_in_batch):
            num_items_in_batch = num_items_in_batch.to(loss.device)
        return loss / num_items_in_batch

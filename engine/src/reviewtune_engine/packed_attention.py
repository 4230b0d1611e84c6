"""Attention over padding-free batches, one example at a time.

A padding-free batch is one row: the examples concatenated, `position_ids` restarting at each, and
the collator's `cu_seq_lens_q` (cumulative lengths) saying where each starts. transformers' sdpa path
turns that into a T x T block-diagonal mask and computes attention over the whole row: for 8
examples of ~110 tokens, 8 times the scores that count, a mask in memory, and a kernel that cannot
take its causal shortcut. Here each example's slice goes through torch's scaled_dot_product_attention
with `is_causal` (its fused CPU kernel), and the outputs are concatenated: the same attention
(tests/test_packed_attention.py compares outputs and gradients with the sdpa path), a fraction of the
work. Anything else (a padded batch, generation with a cache) goes to transformers' sdpa unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as functional
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import repeat_kv, sdpa_attention_forward
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

NAME = "reviewtune_packed_sdpa"


def packed_sdpa_attention_forward(module, query, key, value, attention_mask, dropout: float = 0.0, scaling: float | None = None, **kwargs):
    starts = kwargs.get("cu_seq_lens_q")
    if starts is None or query.shape[0] != 1 or query.shape[2] != key.shape[2] or dropout != 0.0:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs)
    groups = getattr(module, "num_key_value_groups", 1)
    if groups > 1:
        key, value = repeat_kv(key, groups), repeat_kv(value, groups)
    bounds = starts.tolist()
    outputs = [
        functional.scaled_dot_product_attention(query[:, :, begin:end], key[:, :, begin:end], value[:, :, begin:end], is_causal=True, scale=scaling)
        for begin, end in zip(bounds[:-1], bounds[1:])
        if end > begin
    ]
    output = torch.cat(outputs, dim=2) if len(outputs) > 1 else outputs[0]
    return output.transpose(1, 2).contiguous(), None


def register() -> str:
    """Makes the implementation known to transformers (masks are built as for sdpa, for the fallback)."""
    AttentionInterface.register(NAME, packed_sdpa_attention_forward)
    ALL_MASK_ATTENTION_FUNCTIONS.register(NAME, sdpa_mask)
    return NAME

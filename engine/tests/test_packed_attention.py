"""Attention per example of a padding-free row gives what each example alone gives, and what the
sdpa path with its block-diagonal mask gives, forward and backward."""

from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM

from reviewtune_engine import packed_attention


def packed_batch(lengths: list[int], vocab: int, seed: int = 0) -> dict:
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, vocab, (1, sum(lengths)), generator=generator)
    positions = torch.cat([torch.arange(length) for length in lengths]).unsqueeze(0)
    starts = torch.tensor([0, *torch.tensor(lengths).cumsum(0).tolist()], dtype=torch.int32)
    return {"input_ids": ids, "position_ids": positions, "cu_seq_lens_q": starts, "cu_seq_lens_k": starts, "max_length_q": max(lengths), "max_length_k": max(lengths)}


def load(tiny_model, implementation: str):
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model), dtype=torch.float32)
    model.set_attn_implementation(implementation)
    # As training runs it (build_model): with a cache, transformers' sdpa path does not look for packed rows.
    model.config.use_cache = False
    return model


def test_each_example_of_a_packed_row_attends_to_itself_only(tiny_model):
    torch.manual_seed(0)
    lengths = [5, 9, 1, 7]
    sdpa, packed = load(tiny_model, "sdpa"), load(tiny_model, packed_attention.register())
    batch = packed_batch(lengths, sdpa.config.vocab_size)
    expected = sdpa(**batch).logits
    got = packed(**batch).logits
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    # and each example alone, as if it were never packed
    begin = 0
    for length in lengths:
        alone = sdpa(input_ids=batch["input_ids"][:, begin : begin + length]).logits
        torch.testing.assert_close(got[:, begin : begin + length], alone, rtol=1e-5, atol=1e-5)
        begin += length


def test_gradients_match_the_sdpa_path(tiny_model):
    lengths = [6, 4, 8]
    sdpa, packed = load(tiny_model, "sdpa"), load(tiny_model, packed_attention.register())
    batch = packed_batch(lengths, sdpa.config.vocab_size, seed=1)
    labels = batch["input_ids"].clone()
    for model in (sdpa, packed):
        model(**batch, labels=labels).loss.backward()
    for (name, expected), (_, got) in zip(sdpa.named_parameters(), packed.named_parameters()):
        torch.testing.assert_close(got.grad, expected.grad, rtol=1e-4, atol=1e-6, msg=name)


def test_without_segment_lengths_it_is_the_sdpa_path(tiny_model):
    sdpa, packed = load(tiny_model, "sdpa"), load(tiny_model, packed_attention.register())
    ids = torch.randint(3, sdpa.config.vocab_size, (2, 6), generator=torch.Generator().manual_seed(2))
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1]])
    torch.testing.assert_close(packed(input_ids=ids, attention_mask=mask).logits, sdpa(input_ids=ids, attention_mask=mask).logits)

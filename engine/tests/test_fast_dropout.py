"""LoRA's dropout on the CPU (fast_dropout.py): nn.Dropout's function with a cheaper mask."""

from __future__ import annotations

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

from reviewtune_engine.fast_dropout import FastDropout, use_fast_lora_dropout


def test_drops_the_configured_share_and_scales_what_it_keeps():
    torch.manual_seed(0)
    dropout = FastDropout(0.05).train()
    x = torch.rand(1000, 1000) + 1.0
    out = dropout(x)
    kept = out != 0
    assert dropout.threshold == 1638  # round(0.05 x 32768)
    expected_keep = 1 - 1638 / 32768
    # one million Bernoulli draws: the standard error of the share is 0.0002
    assert kept.float().mean().item() == pytest.approx(expected_keep, abs=0.001)
    assert torch.equal(out[kept], x[kept] * (1 / expected_keep))
    # the expectation is kept: the mean of the output is the input's
    assert out.mean().item() == pytest.approx(x.mean().item(), rel=0.002)
    # both halves of each 32-bit draw serve an element: neither column parity is biased
    assert kept[:, 0::2].float().mean().item() == pytest.approx(expected_keep, abs=0.0015)
    assert kept[:, 1::2].float().mean().item() == pytest.approx(expected_keep, abs=0.0015)


def test_the_gradient_goes_through_the_kept_elements_scaled():
    torch.manual_seed(1)
    dropout = FastDropout(0.3).train()
    x = torch.ones(64, 33, requires_grad=True)  # an odd element count: the last draw serves one element
    weights = torch.randn(64, 33)
    out = dropout(x)
    (out * weights).sum().backward()
    # with x = 1 the output is the scaled mask, and the gradient is the weights times it
    assert torch.equal(x.grad, weights * out)
    values = out.unique().tolist()
    assert len(values) == 2 and values[0] == 0.0 and values[1] == pytest.approx(1 / (1 - dropout.threshold / 32768))


def test_the_mask_follows_the_seed_and_evaluation_is_the_identity():
    x = torch.randn(32, 48)
    dropout = FastDropout(0.1).train()
    torch.manual_seed(5)
    first = dropout(x)
    torch.manual_seed(5)
    assert torch.equal(dropout(x), first)
    assert not torch.equal(dropout(x), first)
    assert dropout.eval()(x) is x
    assert FastDropout(0.0).train()(x) is x
    with pytest.raises(ValueError, match="dropout probability"):
        FastDropout(1.0)


def test_every_lora_dropout_of_a_peft_model_is_replaced_and_nothing_else(tiny_model):
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model), dtype=torch.float32)
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    peft_model = get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", r=4, lora_alpha=8, lora_dropout=0.1, target_modules=targets))
    ids = torch.randint(0, model.config.vocab_size, (2, 12))
    peft_model.eval()
    with torch.no_grad():
        before = peft_model(input_ids=ids).logits
    replaced = use_fast_lora_dropout(peft_model)
    assert replaced == model.config.num_hidden_layers * len(targets)
    kinds = {type(module).__name__ for module in peft_model.modules() if isinstance(module, (torch.nn.Dropout, FastDropout))}
    assert kinds == {"FastDropout"}
    with torch.no_grad():
        assert torch.equal(peft_model(input_ids=ids).logits, before)
    # trains: a backward pass reaches every LoRA weight
    peft_model.train()
    peft_model(input_ids=ids, labels=ids).loss.backward()
    assert all(parameter.grad is not None for name, parameter in peft_model.named_parameters() if "lora_" in name)

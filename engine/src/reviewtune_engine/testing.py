"""Tiny random models for tests: `python -m reviewtune_engine.testing make-tiny-model DIR`.

A real Llama architecture (2 layers, hidden 64) with a byte-level BPE tokenizer trained on a few
review sentences and a ChatML chat template, saved as a plain HF folder (safetensors). Builds in a
second, so tests never need downloaded weights.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

CORPUS = [
    "This blender is great, it crushes ice in seconds and the jar is sturdy.",
    "Terrible battery life. The headphones died after two hours.",
    "The moisturizer feels light and my skin looks better after a week.",
    "Sentiment: positive (0.8). Rating: 5/5 stars. Features: battery, design, sound.",
    "Sentiment: negative (-0.6). Rating: 2/5 stars. Quality: poor, it broke quickly.",
    "Should I buy this product? Yes, customers praise durability and design.",
    "Summarize this product review. What features are mentioned? Analyze the sentiment.",
    "0 1 2 3 4 5 6 7 8 9 10 100 2024 4.5 stars $19.99",
]


def make_tiny_model(target: str | Path, *, seed: int = 0, vocab_size: int = 512) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    backend.train_from_iterator(CORPUS * 4, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<|im_start|>", eos_token="<|im_end|>", unk_token="<|endoftext|>", pad_token="<|im_end|>"
    )
    tokenizer.chat_template = CHATML
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        # Room for the tests' longest prompts (a demo review in the analysis prompt is ~780 tokens of this
        # small BPE): the server refuses prompts past the context (context_length_exceeded).
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
        # Large enough that a frozen, tied head can still give peaked logits: LoRA can then fit.
        initializer_range=0.2,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(target, safe_serialization=True)
    tokenizer.save_pretrained(target)
    return target


# Real models' shapes, for speed and memory checks with random weights (no download): the tiny
# tokenizer's ids all fit in the larger vocabulary.
SHAPES = {
    "tinyllama-1.1b": {"vocab_size": 32000, "hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 22, "num_attention_heads": 32, "num_key_value_heads": 4, "tie_word_embeddings": False},
    "smollm2-135m": {"vocab_size": 49152, "hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3, "tie_word_embeddings": True},
}


def make_shaped_model(target: str | Path, shape: str, *, seed: int = 0) -> Path:
    """A random Llama with a real model's dimensions (SHAPES) and the tiny tokenizer, in bfloat16."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    target = make_tiny_model(target, seed=seed)
    tiny = LlamaConfig.from_pretrained(str(target))
    config = LlamaConfig(**{**tiny.to_dict(), **SHAPES[shape], "max_position_embeddings": 2048, "initializer_range": 0.02})
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(target, safe_serialization=True)
    return target


def make_tiny_adapter(
    base: str | Path,
    target: str | Path,
    *,
    seed: int = 0,
    rank: int = 4,
    trained: bool = True,
    weight_std: float = 0.5,
    target_modules: list[str] | None = None,
) -> Path:
    """A PEFT LoRA adapter over `base` with random weights (as if trained: B ~ N(0, weight_std)) or PEFT's
    initial ones (B = 0: no effect)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(str(base))
    config = LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=target_modules or ["q_proj", "k_proj", "v_proj", "o_proj"], lora_dropout=0.0)
    peft_model = get_peft_model(model, config)
    if trained:
        with torch.no_grad():
            for name, parameter in peft_model.named_parameters():
                if "lora_B" in name:
                    parameter.normal_(0.0, weight_std)
    peft_model.save_pretrained(str(target))
    return Path(target)


def make_tiny_classifier_adapter(base: str | Path, target: str | Path, labels: list[str], *, seed: int = 0, rank: int = 4) -> Path:
    """A LoRA SEQ_CLS adapter (with its head) over a tiny model, as a classification run saves it."""
    import json

    import torch
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import AutoTokenizer, LlamaForSequenceClassification

    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    model = LlamaForSequenceClassification.from_pretrained(
        str(base), num_labels=len(labels), id2label=dict(enumerate(labels)), label2id={label: index for index, label in enumerate(labels)}, pad_token_id=tokenizer.pad_token_id
    )
    peft_model = get_peft_model(model, LoraConfig(task_type=TaskType.SEQ_CLS, r=rank, lora_alpha=2 * rank, target_modules=["q_proj", "v_proj"]))
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name or "score" in name:
                parameter.normal_(0, 0.5)
    target = Path(target)
    peft_model.save_pretrained(str(target), safe_serialization=True)
    (target / "classification.json").write_text(json.dumps({"labels": labels}))
    return target


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m reviewtune_engine.testing")
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("make-tiny-model", help="write a tiny random Llama + tokenizer folder")
    make.add_argument("target")
    make.add_argument("--seed", type=int, default=0)
    shaped = sub.add_parser("make-shaped-model", help="write a random Llama of a real model's shape (speed and memory checks)")
    shaped.add_argument("target")
    shaped.add_argument("--shape", choices=sorted(SHAPES), required=True)
    adapter = sub.add_parser("make-tiny-adapter", help="write a random PEFT LoRA adapter over a (tiny) model folder")
    adapter.add_argument("base")
    adapter.add_argument("target")
    adapter.add_argument("--seed", type=int, default=0)
    adapter.add_argument("--untrained", action="store_true", help="PEFT's initial weights: changes nothing")
    args = parser.parse_args()
    if args.command == "make-tiny-model":
        path = make_tiny_model(args.target, seed=args.seed)
        print(json.dumps({"path": str(path)}))
    elif args.command == "make-shaped-model":
        print(json.dumps({"path": str(make_shaped_model(args.target, args.shape))}))
    elif args.command == "make-tiny-adapter":
        path = make_tiny_adapter(args.base, args.target, seed=args.seed, trained=not args.untrained)
        print(json.dumps({"path": str(path)}))


if __name__ == "__main__":
    main()

"""Batched generation from already-rendered prompts, with token streaming and cancellation."""

from __future__ import annotations

import contextlib
import time
from typing import Callable

import torch
from transformers import StoppingCriteria, StoppingCriteriaList
from transformers.generation.streamers import BaseStreamer

from reviewtune_engine.constrained import compile_schema, json_logits_processor
from reviewtune_engine.models import ModelCache


class _EventStreamer(BaseStreamer):
    """Emits the new text of every row as it grows (decoding the whole row keeps multi-byte chars intact)."""

    def __init__(self, tokenizer, offset: int, rows: int, emit: Callable[[dict], None]):
        self.tokenizer, self.offset, self.emit = tokenizer, offset, emit
        self.tokens: list[list[int]] = [[] for _ in range(rows)]
        self.sent = [""] * rows
        self.done = [False] * rows
        self._prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:  # generate() first passes the prompt ids
            self._prompt_seen = True
            return
        for row, token in enumerate(value.reshape(-1).tolist()):
            if self.done[row]:
                continue
            if token == self.tokenizer.eos_token_id:
                self.done[row] = True
                continue
            self.tokens[row].append(token)
            text = self.tokenizer.decode(self.tokens[row], skip_special_tokens=True)
            if text.endswith("\ufffd"):
                continue  # an incomplete UTF-8 sequence: wait for the next token
            if len(text) > len(self.sent[row]):
                self.emit({"kind": "token", "index": self.offset + row, "text": text[len(self.sent[row]) :]})
                self.sent[row] = text

    def end(self) -> None:
        pass


class _CancelCriteria(StoppingCriteria):
    def __init__(self, is_cancelled: Callable[[], bool]):
        self.is_cancelled = is_cancelled

    def __call__(self, input_ids, scores, **kwargs):
        return torch.full((input_ids.shape[0],), self.is_cancelled(), dtype=torch.bool)


def generate(params: dict, cache: ModelCache, emit: Callable[[dict], None], is_cancelled: Callable[[], bool]) -> dict:
    model, tokenizer, adapter_active = cache.with_adapter(params["model"], params.get("adapter"))
    prompts: list[str] = params["prompts"]
    max_new_tokens = params.get("max_new_tokens", 128)
    temperature = params.get("temperature", 0.0)
    batch_size = params.get("batch_size", 8)
    torch.manual_seed(params.get("seed", 0))
    tokenizer.padding_side = "left"
    json_schema = params.get("json_schema")
    vocab_size = 0
    if json_schema is not None:
        # The logits width, which can exceed len(tokenizer) when the embeddings are padded.
        vocab_size = model.get_output_embeddings().weight.shape[0]
        compile_schema(json_schema, tokenizer, vocab_size)  # a bad schema fails before any decoding
    outputs: list[dict] = []
    new_tokens_total = 0
    started = time.perf_counter()
    # A PEFT wrapper exists once any adapter was used; a base request must switch it off.
    base_only = (not adapter_active) and hasattr(model, "disable_adapter")
    with torch.inference_mode(), (model.disable_adapter() if base_only else contextlib.nullcontext()):
        for offset in range(0, len(prompts), batch_size):
            batch = prompts[offset : offset + batch_size]
            encoded = tokenizer(batch, return_tensors="pt", padding=True, add_special_tokens=False)
            streamer = _EventStreamer(tokenizer, offset, len(batch), emit) if params.get("stream") else None
            generated = model.generate(
                **encoded,
                max_new_tokens=max_new_tokens,
                do_sample=temperature > 0,
                temperature=temperature if temperature > 0 else None,
                top_p=params.get("top_p", 1.0) if temperature > 0 else None,
                top_k=None,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
                streamer=streamer,
                stopping_criteria=StoppingCriteriaList([_CancelCriteria(is_cancelled)]),
                # Constrained rows can only end with EOS once the document is complete.
                logits_processor=[json_logits_processor(json_schema, tokenizer, vocab_size)] if json_schema is not None else None,
            )
            new = generated[:, encoded["input_ids"].shape[1] :]
            cancelled = is_cancelled()
            prompt_lengths = encoded["attention_mask"].sum(dim=1).tolist()
            for row, prompt_tokens in zip(new.tolist(), prompt_lengths):
                ended = tokenizer.eos_token_id in row
                tokens = row[: row.index(tokenizer.eos_token_id)] if ended else row
                new_tokens_total += len(tokens)
                outputs.append(
                    {
                        "text": tokenizer.decode(tokens, skip_special_tokens=True),
                        "new_tokens": len(tokens),
                        "prompt_tokens": int(prompt_tokens),
                        "finish_reason": "stop" if ended else ("cancelled" if cancelled else "length"),
                    }
                )
            if cancelled:
                break
    seconds = time.perf_counter() - started
    return {
        "outputs": outputs,
        "seconds": round(seconds, 4),
        "tokens_per_second": round(new_tokens_total / seconds, 3) if seconds > 0 else 0.0,
        "adapter_loaded": adapter_active,
    }

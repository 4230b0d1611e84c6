"""Log-probabilities of given continuations after given prompts: label words for AUC and calibration,
whole answers for perplexity. One forward pass per batch of (prompt, continuation) pairs, no sampling."""

from __future__ import annotations

import contextlib
import time
from typing import Callable

import torch

from reviewtune_engine.errors import EngineError
from reviewtune_engine.models import ModelCache


def score(params: dict, cache: ModelCache, is_cancelled: Callable[[], bool]) -> dict:
    model, tokenizer, adapter_active = cache.with_adapter(params["model"], params.get("adapter"))
    prompts: list[str] = params["prompts"]
    candidates: list[list[str]] = params["candidates"]
    if len(candidates) not in (1, len(prompts)):
        raise EngineError("invalid_request", f"candidates has {len(candidates)} lists; give one shared list or one per prompt ({len(prompts)})", field="candidates")
    batch_size = params.get("batch_size", 8)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    # Prompt and continuation are tokenized apart and joined as ids, so the scored tokens are
    # exactly the continuation's, whatever the tokenizer would merge across the boundary.
    pairs: list[tuple[int, list[int], list[int]]] = []
    for index, prompt in enumerate(prompts):
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        if not prompt_ids:
            raise EngineError("invalid_request", f"prompt {index} has no tokens: a continuation needs a prompt to follow", field="prompts")
        for text in candidates[index if len(candidates) > 1 else 0]:
            continuation = tokenizer(text, add_special_tokens=False)["input_ids"]
            if not continuation:
                raise EngineError("invalid_request", f"candidate {text!r} has no tokens", field="candidates")
            pairs.append((index, prompt_ids, continuation))

    results: list[dict] = []
    started = time.perf_counter()
    base_only = (not adapter_active) and hasattr(model, "disable_adapter")
    with torch.inference_mode(), (model.disable_adapter() if base_only else contextlib.nullcontext()):
        for offset in range(0, len(pairs), batch_size):
            if is_cancelled():
                raise EngineError("cancelled", "scoring cancelled")
            batch = pairs[offset : offset + batch_size]
            rows = [prompt_ids + continuation for _, prompt_ids, continuation in batch]
            width = max(len(row) for row in rows)
            input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
            attention = torch.zeros((len(rows), width), dtype=torch.long)
            for row_index, row in enumerate(rows):  # right padding: positions stay those of an unpadded row
                input_ids[row_index, : len(row)] = torch.tensor(row)
                attention[row_index, : len(row)] = 1
            logits = model(input_ids=input_ids, attention_mask=attention).logits.float()
            log_probs = torch.log_softmax(logits, dim=-1)
            for row_index, (_, prompt_ids, continuation) in enumerate(batch):
                start = len(prompt_ids)
                # the token at position t is predicted by the logits at t - 1
                positions = torch.arange(start - 1, start - 1 + len(continuation))
                token_log_probs = log_probs[row_index, positions, torch.tensor(continuation)]
                results.append({"logprob": float(token_log_probs.sum()), "tokens": len(continuation)})

    # Back into one list per prompt, in the order given.
    scores: list[list[dict]] = [[] for _ in prompts]
    for (index, _, _), result in zip(pairs, results):
        scores[index].append(result)
    return {"scores": scores, "seconds": round(time.perf_counter() - started, 4), "adapter_loaded": adapter_active}

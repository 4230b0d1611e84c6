"""Batched generation from already-rendered prompts, with token streaming and cancellation, and the
OpenAI sampling options: stop strings, presence/frequency penalties and per-token log-probabilities."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Callable

import torch
from transformers import LogitsProcessor, StoppingCriteria, StoppingCriteriaList
from transformers.generation.streamers import BaseStreamer

from reviewtune_engine.constrained import compile_schema, json_logits_processor
from reviewtune_engine.errors import EngineError
from reviewtune_engine.models import ModelCache


def find_stop(text: str, stops: list[str]) -> int:
    """Where the earliest stop string starts in `text`, or -1."""
    found = [index for index in (text.find(stop) for stop in stops) if index >= 0]
    return min(found) if found else -1


def safe_length(text: str, stops: list[str]) -> int:
    """How much of `text` may be shown: all of it but a tail that could still grow into a stop string."""
    for keep in range(max((len(stop) for stop in stops), default=1) - 1, 0, -1):
        if any(stop.startswith(text[-keep:]) for stop in stops if len(text) >= keep):
            return len(text) - keep
    return len(text)


class _EventStreamer(BaseStreamer):
    """Emits the new text of every row as it grows (decoding the whole row keeps multi-byte chars intact).
    With stop strings, a tail that may be the start of one is held back and nothing from a stop on is sent,
    as OpenAI never sends the stop sequence."""

    def __init__(self, tokenizer, offset: int, rows: int, emit: Callable[[dict], None], stops: list[str] | None = None):
        self.tokenizer, self.offset, self.emit = tokenizer, offset, emit
        self.stops = stops or []
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
            if self.stops:
                at = find_stop(text, self.stops)
                if at >= 0:
                    self.done[row] = True
                    text = text[:at]
                else:
                    text = text[: safe_length(text, self.stops)]
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


class _EachStep(StoppingCriteria):
    """Calls `on_step` after every decoding step (the server's thread count follows the free cores); never stops."""

    def __init__(self, on_step: Callable[[], None]):
        self.on_step = on_step

    def __call__(self, input_ids, scores, **kwargs):
        self.on_step()
        return torch.zeros((input_ids.shape[0],), dtype=torch.bool)


class _StopStrings(StoppingCriteria):
    """Ends a row once its new text contains a stop string, and remembers how many tokens it had then."""

    def __init__(self, tokenizer, stops: list[str], prompt_length: int):
        self.tokenizer, self.stops, self.prompt_length = tokenizer, stops, prompt_length
        # A stop string spans at most as many tokens as it has characters (+2 for tokens that straddle it).
        self.window = max(len(stop) for stop in stops) + 2
        self.stopped_at: dict[int, int] = {}

    def __call__(self, input_ids, scores, **kwargs):
        new = input_ids[:, self.prompt_length :]
        for row in range(new.shape[0]):
            if row in self.stopped_at:
                continue
            tail = self.tokenizer.decode(new[row, -self.window :].tolist(), skip_special_tokens=True)
            if find_stop(tail, self.stops) >= 0:
                self.stopped_at[row] = new.shape[1]
        return torch.tensor([row in self.stopped_at for row in range(new.shape[0])], dtype=torch.bool, device=input_ids.device)


class _Penalties(LogitsProcessor):
    """OpenAI's presence and frequency penalties: each generated token's logit is lowered by
    frequency_penalty x its count so far plus presence_penalty once it appeared (the prompt is not
    counted). transformers has only the multiplicative repetition_penalty, which means something else."""

    def __init__(self, prompt_length: int, presence: float, frequency: float, temperature: float):
        self.prompt_length, self.presence, self.frequency = prompt_length, presence, frequency
        # Custom processors run after transformers' temperature scaling: dividing here gives (logit - penalty) / T.
        self.scale = 1 / temperature if temperature > 0 else 1.0

    def __call__(self, input_ids, scores):
        new = input_ids[:, self.prompt_length :]
        if new.shape[1] == 0:
            return scores
        counts = torch.zeros_like(scores).scatter_add_(1, new, torch.ones_like(new, dtype=scores.dtype))
        penalty = self.frequency * counts + self.presence * (counts > 0).to(scores.dtype)
        return scores - penalty * self.scale


# Answer tokens within which ordinal choices are looked for (contracts ORDINAL_WINDOW).
ORDINAL_WINDOW = 64


def median_index(weights: list[float]) -> int:
    """The index where the cumulative weight reaches half the total (contracts medianIndex), or -1 when no weight is positive."""
    total = sum(weights)
    if not total > 0:
        return -1
    cumulative = 0.0
    for index, weight in enumerate(weights):
        cumulative += weight
        if cumulative >= total / 2:
            return index
    return len(weights) - 1


def joint_choice(first: list[float], second: list[float], bands: list[int]) -> tuple[int, int] | None:
    """Two ordered choices decided together from two readings (contracts jointChoice, where the rule is
    explained): the second's option is the median of its reading times the first reading's mass over
    its band; the first's option is the one of that band nearest to the first reading's median."""
    median = median_index(first)
    if median < 0:
        return None
    mass = [weight * sum(value for value, band_of in zip(first, bands) if band_of == band) for band, weight in enumerate(second)]
    chosen = median_index(mass)
    if chosen < 0:
        return median, bands[median]
    nearest = min((index for index, band in enumerate(bands) if band == chosen), key=lambda index: abs(index - median))
    return nearest, chosen


@dataclass
class _Ordinal:
    """An ordinal choice as token ids (see _ordinal_tokens); `decided` once an earlier choice decided it."""

    after: str
    choices: list[int]
    then: dict | None = None  # {"text": [ids], "after": str, "choices": [ids], "bands": [int]}
    decided: int | None = None


class _OrdinalChoices:
    """Ordered choices decided by their median (protocol OrdinalChoice): the first time a row's answer
    so far ends with a choice's `after` (whitespace ignored), within its first ORDINAL_WINDOW tokens,
    and its likeliest next token is an option, only the option where the cumulative probability over the options reaches one half stays allowed.
    A choice with a `then` also reads the model's weights over the second choice's options after its
    median option and the text between (`read_next`, one forward pass of that row), decides both
    (joint_choice), and keeps only the second's decided option where it comes.
    Runs after the JSON processor, whose mask leaves the options' logits as they were; xgrammar then
    accepts the kept option like any other allowed token."""

    def __init__(self, tokenizer, ordinals: list[_Ordinal], prompt_length: int, rows: int, read_next: Callable[[int, torch.Tensor, list[int], list[int]], list[float]]):
        self.tokenizer = tokenizer
        self.prompt_length = prompt_length
        self.read_next = read_next
        self.pending = {row: list(ordinals) for row in range(rows)}  # per row, the choices not made yet

    def __call__(self, input_ids, scores):
        if input_ids.shape[1] - self.prompt_length >= ORDINAL_WINDOW:
            self.pending.clear()
        for row, ordinals in list(self.pending.items()):
            answer = "".join(self.tokenizer.decode(input_ids[row, self.prompt_length :], skip_special_tokens=True).split())
            likeliest = int(scores[row].argmax())
            at = next((index for index, ordinal in enumerate(ordinals) if answer.endswith(ordinal.after) and likeliest in ordinal.choices), None)
            if at is None:
                continue
            ordinal = ordinals.pop(at)
            chosen = ordinal.decided
            if chosen is None:
                weights = torch.softmax(scores[row].float(), dim=-1)[torch.tensor(ordinal.choices, device=scores.device)].tolist()
                median = median_index(weights)
                if median < 0:
                    continue
                chosen = ordinal.choices[median]
                if ordinal.then is not None:
                    then = ordinal.then
                    joint = joint_choice(weights, self.read_next(row, input_ids[row], [chosen, *then["text"]], then["choices"]), then["bands"])
                    if joint is not None:
                        chosen = ordinal.choices[joint[0]]
                        # The second choice is written as decided; a choice of its own over the same options goes.
                        ordinals[:] = [other for other in ordinals if other.choices != then["choices"]]
                        ordinals.insert(0, _Ordinal(then["after"], then["choices"], decided=then["choices"][joint[1]]))
            if not ordinals:
                del self.pending[row]
            kept = scores[row, chosen].clone()
            scores[row] = float("-inf")
            scores[row, chosen] = kept
        return scores


def _ordinal_tokens(tokenizer, ordinals: list[dict] | None) -> list[_Ordinal]:
    """The choices whose options are one token each, as token ids (the others decode as usual; a `then` whose options are not is dropped)."""

    def single(choices: list[str]) -> list[int] | None:
        ids = [tokenizer.encode(choice, add_special_tokens=False) for choice in choices]
        return [tokens[0] for tokens in ids] if all(len(tokens) == 1 for tokens in ids) else None

    usable = []
    for index, ordinal in enumerate(ordinals or []):
        then = ordinal.get("then")
        if then and (len(then["bands"]) != len(ordinal["choices"]) or any(band >= len(then["choices"]) or (at > 0 and band < then["bands"][at - 1]) for at, band in enumerate(then["bands"]))):
            # The schema cannot say this (the contracts' refinement does on the Node side).
            raise EngineError("invalid_request", "then.bands needs one non-decreasing index into then.choices per option of choices", field=f"params.ordinal.{index}.then.bands")
        choices = single(ordinal["choices"])
        if choices is None:
            continue
        then_choices = single(then["choices"]) if then else None
        usable.append(
            _Ordinal(
                "".join(ordinal["after"].split()),
                choices,
                {"text": tokenizer.encode(then["text"], add_special_tokens=False), "after": "".join(then["text"].split()), "choices": then_choices, "bands": then["bands"]} if then and then_choices else None,
            )
        )
    return usable


def _logprobs(tokenizer, logits: list[torch.Tensor], row: int, tokens: list[int], top: int) -> list[dict]:
    """Each chosen token's log-probability under the model (the raw logits, before sampling options) and the `top` likeliest."""
    entries = []
    for step, token in enumerate(tokens):
        logprobs = torch.log_softmax(logits[step][row].float(), dim=-1)
        best = torch.topk(logprobs, top) if top > 0 else None
        entries.append(
            {
                "token": tokenizer.decode([token]),
                "logprob": float(logprobs[token]),
                "top": [{"token": tokenizer.decode([int(i)]), "logprob": float(v)} for v, i in zip(best.values, best.indices)] if best is not None else [],
            }
        )
    return entries


def generate(params: dict, cache: ModelCache, emit: Callable[[dict], None], is_cancelled: Callable[[], bool], on_step: Callable[[], None] | None = None) -> dict:
    model, tokenizer, adapter_active = cache.with_adapter(params["model"], params.get("adapter"))
    prompts: list[str] = params["prompts"]
    max_new_tokens = params.get("max_new_tokens", 128)
    temperature = params.get("temperature", 0.0)
    batch_size = params.get("batch_size", 8)
    torch.manual_seed(params.get("seed", 0))
    tokenizer.padding_side = "left"
    json_schema = params.get("json_schema")
    # One schema for every answer, or one per prompt (each review's analysis schema).
    schemas: list[dict] | None = None
    if json_schema is not None:
        schemas = json_schema if isinstance(json_schema, list) else [json_schema] * len(prompts)
        if len(schemas) != len(prompts):
            raise EngineError("bad_schema", f"json_schema: {len(schemas)} schemas for {len(prompts)} prompts", hint="give one schema for all prompts or one per prompt", field="params.json_schema")
    stops: list[str] = [stop for stop in params.get("stop") or [] if stop]
    presence = params.get("presence_penalty", 0.0)
    frequency = params.get("frequency_penalty", 0.0)
    # None: no log-probabilities; 0: only the chosen tokens'; n: also the n likeliest at each step.
    top_logprobs = params.get("logprobs")
    # Greedy only: with sampling the options are sampled as usual.
    ordinals = _ordinal_tokens(tokenizer, params.get("ordinal"))  # checked either way
    if temperature > 0:
        ordinals = []
    vocab_size = 0
    grammars = None
    if schemas is not None:
        # The logits width, which can exceed len(tokenizer) when the embeddings are padded.
        vocab_size = model.get_output_embeddings().weight.shape[0]
        # A bad schema fails before any decoding; each is checked and compiled once (then cached).
        grammars = [compile_schema(schema, tokenizer, vocab_size) for schema in schemas]
    outputs: list[dict] = []
    new_tokens_total = 0
    started = time.perf_counter()
    # A PEFT wrapper exists once any adapter was used; a base request must switch it off.
    base_only = (not adapter_active) and hasattr(model, "disable_adapter")
    with torch.inference_mode(), (model.disable_adapter() if base_only else contextlib.nullcontext()):
        for offset in range(0, len(prompts), batch_size):
            batch = prompts[offset : offset + batch_size]
            encoded = tokenizer(batch, return_tensors="pt", padding=True, add_special_tokens=False)
            prompt_length = encoded["input_ids"].shape[1]
            streamer = _EventStreamer(tokenizer, offset, len(batch), emit, stops) if params.get("stream") else None
            stop_criteria = _StopStrings(tokenizer, stops, prompt_length) if stops else None
            processors = []
            if grammars is not None:
                # Constrained rows can only end with EOS once the document is complete.
                processors.append(json_logits_processor(grammars[offset : offset + len(batch)], tokenizer, vocab_size))
            if presence or frequency:
                processors.append(_Penalties(prompt_length, presence, frequency, temperature))
            if ordinals:
                pads = (prompt_length - encoded["attention_mask"].sum(dim=1)).tolist()

                def read_next(row: int, so_far: torch.Tensor, tokens: list[int], options: list[int], pads=pads) -> list[float]:
                    # The row's sequence so far (without its left padding) and `tokens`, in one forward pass.
                    sequence = torch.cat([so_far[pads[row] :], torch.tensor(tokens, dtype=so_far.dtype, device=so_far.device)]).unsqueeze(0)
                    logits = model(input_ids=sequence).logits[0, -1].float()
                    return torch.softmax(logits[options], dim=-1).tolist()

                processors.append(_OrdinalChoices(tokenizer, ordinals, prompt_length, len(batch), read_next))
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
                stopping_criteria=StoppingCriteriaList([_CancelCriteria(is_cancelled), *([stop_criteria] if stop_criteria else []), *([_EachStep(on_step)] if on_step else [])]),
                logits_processor=processors or None,
                return_dict_in_generate=True,
                output_logits=top_logprobs is not None,
            )
            new = generated.sequences[:, prompt_length:]
            cancelled = is_cancelled()
            prompt_lengths = encoded["attention_mask"].sum(dim=1).tolist()
            for row, (tokens_row, prompt_tokens) in enumerate(zip(new.tolist(), prompt_lengths)):
                stopped = stop_criteria.stopped_at.get(row) if stop_criteria else None
                if stopped is not None:
                    tokens_row = tokens_row[:stopped]  # after a stop the row is padding
                ended = tokenizer.eos_token_id in tokens_row
                tokens = tokens_row[: tokens_row.index(tokenizer.eos_token_id)] if ended else tokens_row
                text = tokenizer.decode(tokens, skip_special_tokens=True)
                at = find_stop(text, stops) if stops else -1
                if at >= 0:
                    text, ended = text[:at], True
                new_tokens_total += len(tokens)
                output = {
                    "text": text,
                    "new_tokens": len(tokens),
                    "prompt_tokens": int(prompt_tokens),
                    "finish_reason": "stop" if ended else ("cancelled" if cancelled else "length"),
                }
                if top_logprobs is not None:
                    output["logprobs"] = _logprobs(tokenizer, generated.logits, row, tokens, top_logprobs)
                outputs.append(output)
            if cancelled:
                break
    seconds = time.perf_counter() - started
    return {
        "outputs": outputs,
        "seconds": round(seconds, 4),
        "tokens_per_second": round(new_tokens_total / seconds, 3) if seconds > 0 else 0.0,
        "adapter_loaded": adapter_active,
    }

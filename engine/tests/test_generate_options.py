"""OpenAI's sampling options on the torch engine: stop strings end an answer before them (streamed
text never shows them), presence/frequency penalties change what a greedy answer repeats, and
log-probabilities come per answer token with the likeliest alternatives."""

from __future__ import annotations

import math

import pytest

from reviewtune_engine.generate import find_stop, generate, safe_length
from reviewtune_engine.models import ModelCache
from reviewtune_engine.protocol import validate_request

PROMPTS = [
    "<|im_start|>user\nIs the blender good?<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>user\nTell me about the kettle, please, in detail.<|im_end|>\n<|im_start|>assistant\n",
]


@pytest.fixture(scope="module")
def cache(tiny_model) -> ModelCache:
    return ModelCache()


def run(cache, tiny_model, events=None, **params) -> dict:
    request = {"model": {"source": str(tiny_model)}, "prompts": PROMPTS, "max_new_tokens": 24, "batch_size": 2, **params}
    validate_request({"id": "1", "method": "generate", "params": request})  # the options are in the protocol
    sink = events.append if events is not None else (lambda _: None)
    return generate(request, cache, sink, lambda: False)


def test_stop_helpers():
    assert find_stop("abc. def", [".", "d"]) == 3
    assert find_stop("abc", ["x"]) == -1
    assert safe_length("hello wo", ["world"]) == 6  # "wo" may become "world"
    assert safe_length("hello", ["world"]) == 5


def test_a_stop_string_ends_the_answer_before_it_also_when_streamed(cache, tiny_model):
    free = run(cache, tiny_model)
    text = free["outputs"][0]["text"]
    assert len(text) > 6, text
    stop = text[3:5]  # a piece from inside the greedy answer
    events: list[dict] = []
    stopped = run(cache, tiny_model, events, stop=[stop], stream=True)
    first = stopped["outputs"][0]
    assert first["text"] == text[: text.find(stop)]
    assert first["finish_reason"] == "stop"
    assert first["new_tokens"] < free["outputs"][0]["new_tokens"]
    streamed = "".join(event["text"] for event in events if event["index"] == 0)
    assert streamed == first["text"], "the stream shows the stop string or more"


def test_penalties_change_a_repetitive_greedy_answer(cache, tiny_model):
    plain = run(cache, tiny_model, max_new_tokens=40, logprobs=0)["outputs"]
    penalized = run(cache, tiny_model, max_new_tokens=40, logprobs=0, frequency_penalty=2.0, presence_penalty=2.0)["outputs"]
    assert [o["text"] for o in penalized] != [o["text"] for o in plain]
    # A strongly penalized greedy answer repeats tokens less than the plain one.
    repeats = lambda output: len(output["logprobs"]) - len({entry["token"] for entry in output["logprobs"]})  # noqa: E731
    assert sum(map(repeats, penalized)) < sum(map(repeats, plain))


def test_logprobs_of_each_answer_token_with_alternatives(cache, tiny_model):
    plain = run(cache, tiny_model)
    result = run(cache, tiny_model, logprobs=3)
    for output, same in zip(result["outputs"], plain["outputs"]):
        assert output["text"] == same["text"], "asking for log-probabilities changes nothing else"
        entries = output["logprobs"]
        assert len(entries) == output["new_tokens"]
        for entry in entries:
            assert entry["logprob"] <= 0 and len(entry["top"]) == 3
            # Greedy: the chosen token is the likeliest.
            assert math.isclose(entry["logprob"], entry["top"][0]["logprob"], abs_tol=1e-5)
    assert "logprobs" not in plain["outputs"][0]

"""Decoding constrained to a JSON Schema: every answer of a left-padded batch parses and validates
against REVIEW_ANALYSIS_JSON_SCHEMA (greedy and sampled, even from a random model), a schema the
decoder cannot enforce is a clear bad_schema error, and a request without a schema is unchanged."""

from __future__ import annotations

import json
import math
from pathlib import Path

import jsonschema
import pytest
import torch

from reviewtune_engine.errors import EngineError
from reviewtune_engine.generate import generate, joint_choice, median_index
from reviewtune_engine.models import ModelCache
from reviewtune_engine.protocol import validate_request

# Written from the TS contract; packages/contracts/src/analysis.test.ts fails if the two differ.
SCHEMA = json.loads((Path(__file__).parent / "fixtures" / "review-analysis.schema.json").read_text())

# Prompts of different lengths, so the batch is left-padded.
PROMPTS = [
    "<|im_start|>user\nAnalyze this product review. The blender is great.<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>user\nTerrible battery life.<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>user\nAnalyze this product review. The moisturizer feels light and my skin looks better after a week.<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>user\n5 stars<|im_end|>\n<|im_start|>assistant\n",
]
# Enough for the longest document the schema admits from this tokenizer (5 aspects of 40 chars, a 160-char summary).
MAX_NEW_TOKENS = 700


@pytest.fixture(scope="module")
def cache(tiny_model) -> ModelCache:
    return ModelCache()


def run(cache, tiny_model, events=None, **params) -> dict:
    sink = events.append if events is not None else (lambda _: None)
    return generate({"model": {"source": str(tiny_model)}, "prompts": PROMPTS, "max_new_tokens": MAX_NEW_TOKENS, "batch_size": 4, **params}, cache, sink, lambda: False)


def assert_all_valid(result: dict) -> list[dict]:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    documents = []
    for index, output in enumerate(result["outputs"]):
        assert output["finish_reason"] == "stop", f"answer {index} did not end at EOS: {output['text']!r}"
        document = json.loads(output["text"])  # strict: no raw control characters in strings either
        errors = [error.message for error in validator.iter_errors(document)]
        assert not errors, f"answer {index} {output['text']!r}: {errors}"
        assert output["text"] == json.dumps(document, separators=(",", ":"), ensure_ascii=False), "not compact JSON"
        assert list(document) == list(SCHEMA["properties"]), "keys not in the schema's (trained) order"
        documents.append(document)
    assert len(documents) == len(PROMPTS)
    return documents


def test_greedy_batch_answers_all_validate_and_stream_the_same_text(cache, tiny_model):
    events: list[dict] = []
    result = run(cache, tiny_model, events, json_schema=SCHEMA, stream=True)
    assert_all_valid(result)
    for index, output in enumerate(result["outputs"]):
        streamed = "".join(event["text"] for event in events if event["kind"] == "token" and event["index"] == index)
        assert streamed == output["text"]


def test_sampled_batch_answers_all_validate_and_differ_by_seed(cache, tiny_model):
    first = assert_all_valid(run(cache, tiny_model, json_schema=SCHEMA, temperature=1.0, top_p=0.95, seed=1))
    second = assert_all_valid(run(cache, tiny_model, json_schema=SCHEMA, temperature=1.0, top_p=0.95, seed=2))
    assert first != second  # sampling really samples within the constraint


def test_batches_smaller_than_the_prompt_list_each_get_their_own_constraint(cache, tiny_model):
    assert_all_valid(run(cache, tiny_model, json_schema=SCHEMA, batch_size=3, temperature=0.7, seed=3))


def _with_terms(terms: list[str]) -> dict:
    """The analysis schema with the aspect terms limited to these (as reviewAnalysisJsonSchema limits them to a review's phrases)."""
    aspects = SCHEMA["properties"]["aspects"]
    items = {**aspects["items"], "properties": {**aspects["items"]["properties"], "term": {"enum": terms}}}
    return {**SCHEMA, "properties": {**SCHEMA["properties"], "aspects": {**aspects, "minItems": 1, "items": items}}}


def test_one_schema_per_prompt_constrains_each_answer_to_its_own(cache, tiny_model):
    terms = [["blender"], ["battery life", "battery"], ["skin", "moisturizer"], ["stars"]]
    schemas = [_with_terms(allowed) for allowed in terms]
    # batch_size 3: the second batch's only row must get the fourth schema, not the first.
    result = run(cache, tiny_model, json_schema=schemas, batch_size=3, temperature=0.7, seed=4)
    documents = assert_all_valid(result)
    for index, document in enumerate(documents):
        assert document["aspects"], document
        assert {aspect["term"] for aspect in document["aspects"]} <= set(terms[index]), (index, document)
    with pytest.raises(EngineError) as caught:
        run(cache, tiny_model, json_schema=schemas[:3], max_new_tokens=4)
    assert caught.value.code == "bad_schema" and "3 schemas for 4 prompts" in caught.value.message


@pytest.mark.parametrize(
    ("schema", "named"),
    [
        ({"type": "string", "pattern": "(?<=a)b"}, "Lookbehind is not supported"),  # xgrammar's own error, passed on
        ({"type": "strin"}, "not a valid JSON Schema at type"),
        ({"type": "object", "properties": {"a": {"not": {"type": "string"}}}}, "#/properties/a/not cannot be enforced"),
        ({"type": "object", "if": {"required": ["a"]}, "then": {"required": ["b"]}}, "#/if, #/then cannot be enforced"),
    ],
)
def test_a_schema_the_decoder_cannot_enforce_is_a_bad_schema_error(cache, tiny_model, schema, named):
    with pytest.raises(EngineError) as caught:
        run(cache, tiny_model, json_schema=schema, max_new_tokens=4)
    assert caught.value.code == "bad_schema"
    assert caught.value.field == "params.json_schema"
    assert named in caught.value.message, caught.value.message


def test_a_property_named_like_an_unenforced_keyword_is_fine(cache, tiny_model):
    schema = {"type": "object", "properties": {"not": {"enum": ["x"]}}, "required": ["not"], "additionalProperties": False}
    result = run(cache, tiny_model, json_schema=schema, max_new_tokens=32)
    assert [json.loads(output["text"]) for output in result["outputs"]] == [{"not": "x"}] * len(PROMPTS)


def test_without_json_schema_generation_is_unchanged(cache, tiny_model):
    result = run(cache, tiny_model, max_new_tokens=12)
    model, tokenizer = cache.get({"source": str(tiny_model)})
    encoded = tokenizer(PROMPTS, return_tensors="pt", padding=True, add_special_tokens=False)
    with torch.inference_mode():
        plain = model.generate(**encoded, max_new_tokens=12, do_sample=False, pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    expected = [tokenizer.decode([t for t in row if t != tokenizer.eos_token_id], skip_special_tokens=True) for row in plain[:, encoded["input_ids"].shape[1] :].tolist()]
    assert [output["text"] for output in result["outputs"]] == expected
    assert any(not _is_json(output["text"]) for output in result["outputs"])  # the random model's free text is not JSON


def test_the_protocol_accepts_a_json_schema_object_or_one_per_prompt_only():
    request = {"id": "g", "method": "generate", "params": {"model": {"source": "m"}, "prompts": ["p"], "json_schema": SCHEMA}}
    validate_request(request)
    validate_request({**request, "params": {**request["params"], "json_schema": [SCHEMA]}})
    with pytest.raises(EngineError) as caught:
        validate_request({**request, "params": {**request["params"], "json_schema": "{}"}})
    assert caught.value.field == "params.json_schema"


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


# The analysis's ordered choices (contracts ANALYSIS_ORDINALS): stars, then sentiment.
ORDINALS = [
    {"after": '"stars":', "choices": ["1", "2", "3", "4", "5"]},
    {"after": '"sentiment":"', "choices": ["negative", "neutral", "positive"]},
]


ORDINAL_REVIEWS = ["Fine.", "Broke in a week.", "Great value, would buy again.", "The lid leaks but it keeps coffee hot.", "Meh.", "Five stars!", "Not as described.", "Works as expected, nothing more."]


def test_ordinal_choices_are_the_median_of_the_model_distribution_over_their_options(cache, tiny_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    # Every token's raw log-probability at every step (the tiny vocabulary is 512): the distribution
    # the choice was made from, as the batch computed it.
    prompts = [f"<|im_start|>user\nAnalyze this product review. {text}<|im_end|>\n<|im_start|>assistant\n" for text in ORDINAL_REVIEWS]
    result = generate(
        {"model": {"source": str(tiny_model)}, "prompts": prompts, "max_new_tokens": MAX_NEW_TOKENS, "batch_size": 4, "json_schema": SCHEMA, "ordinal": ORDINALS, "logprobs": len(tokenizer)},
        cache,
        lambda _: None,
        lambda: False,
    )
    documents = [json.loads(output["text"]) for output in result["outputs"]]
    for document in documents:
        jsonschema.validate(document, SCHEMA)
    medians = checked = 0
    for document, output in zip(documents, result["outputs"]):
        for ordinal in ORDINALS:
            if any(len(tokenizer.encode(choice, add_special_tokens=False)) != 1 for choice in ordinal["choices"]):
                continue  # decoded as usual (the tiny tokenizer splits "negative"); the stars are one token each
            step = next(index for index, entry in enumerate(output["logprobs"]) if "".join(e["token"] for e in output["logprobs"][:index]).endswith(ordinal["after"]))
            raw = {entry["token"]: entry["logprob"] for entry in output["logprobs"][step]["top"]}
            weights = torch.tensor([math.exp(raw[choice]) for choice in ordinal["choices"]])
            median = int(torch.searchsorted(torch.cumsum(weights, 0), weights.sum() / 2))
            assert output["logprobs"][step]["token"] == ordinal["choices"][median], (output["text"], weights.tolist())
            if ordinal["after"] == '"stars":':
                assert str(document["stars"]) == ordinal["choices"][median]
            medians += int(weights.argmax()) != median
            checked += 1
    assert checked == len(ORDINAL_REVIEWS)
    # The median is not the likeliest option everywhere: the test would pass for plain greedy otherwise.
    assert medians > 0, "every median was also the likeliest option; pick prompts where they differ"


BANDS = [0, 0, 1, 2, 2]  # stars 1-2 negative, 3 neutral, 4-5 positive


def test_joint_choice_takes_the_side_of_the_second_reading_where_the_first_says_nothing():
    # The same hand-computed cases as packages/contracts/src/protocol.test.ts (jointChoice).
    assert median_index([0.1, 0.2, 0.3, 0.4]) == 2 and median_index([0.5, 0.5]) == 0 and median_index([0, 0]) == -1
    assert joint_choice([0.19, 0.19, 0.22, 0.28, 0.12], [0.1, 0.2, 0.7], BANDS) == (3, 2)
    assert joint_choice([0.19, 0.19, 0.22, 0.28, 0.12], [0.8, 0.1, 0.1], BANDS) == (1, 0)
    assert joint_choice([0.05, 0.85, 0.05, 0.03, 0.02], [0.3, 0.2, 0.5], BANDS) == (1, 0)
    torn = [0.3, 0.1, 0.2, 0.1, 0.3]
    assert joint_choice(torn, [0.45, 0.1, 0.45], BANDS) == (2, 1)
    assert joint_choice(torn, [0.6, 0.1, 0.3], BANDS) == (1, 0)
    assert joint_choice(torn, [0.4, 0.8, 0.2], BANDS) == (2, 1)
    assert joint_choice([0, 0, 0, 0, 0], [0.2, 0.3, 0.5], BANDS) is None
    assert joint_choice([0, 0, 0.1, 0.9, 0], [0, 0, 0], BANDS) == (3, 2)


# Two ordered choices decided together (like the analysis's stars and sentiment), with options the
# tiny tokenizer writes as one token each.
JOINT_SCHEMA = {
    "type": "object",
    "properties": {"n": {"enum": [1, 2, 3, 4, 5]}, "m": {"enum": [1, 2, 3]}, "why": {"type": "string", "maxLength": 8}},
    "required": ["n", "m", "why"],
    "additionalProperties": False,
}
JOINT = [{"after": '"n":', "choices": ["1", "2", "3", "4", "5"], "then": {"text": ',"m":', "choices": ["1", "2", "3"], "bands": BANDS}}]


def test_joint_ordinal_choices_decide_both_options_from_the_two_readings(cache, tiny_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model).eval()
    prompts = [f"<|im_start|>user\nRate this. {text}<|im_end|>\n<|im_start|>assistant\n" for text in ORDINAL_REVIEWS]
    result = generate(
        {"model": {"source": str(tiny_model)}, "prompts": prompts, "max_new_tokens": 48, "batch_size": 4, "json_schema": JOINT_SCHEMA, "ordinal": JOINT, "logprobs": len(tokenizer)},
        cache,
        lambda _: None,
        lambda: False,
    )
    ids = {tokenizer.decode([token]): token for token in range(len(tokenizer))}
    option = lambda text: tokenizer.encode(text, add_special_tokens=False)[0]  # noqa: E731
    changed = 0
    for prompt, output in zip(prompts, result["outputs"]):
        document = json.loads(output["text"])
        entries = output["logprobs"]
        step = next(index for index in range(len(entries)) if "".join(entry["token"] for entry in entries[:index]) == '{"n":')
        # The first reading: the model's distribution at the first choice (the raw logits, as reported).
        raw = {entry["token"]: entry["logprob"] for entry in entries[step]["top"]}
        first = [math.exp(raw[str(n)]) for n in range(1, 6)]
        median = median_index(first)
        # The second reading: after the first's median option and the text between, in a pass of its own.
        sequence = tokenizer.encode(prompt, add_special_tokens=False) + [ids[entry["token"]] for entry in entries[:step]] + [option(str(median + 1))] + tokenizer.encode(',"m":', add_special_tokens=False)
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([sequence])).logits[0, -1]
        second = torch.softmax(logits[[option(m) for m in ("1", "2", "3")]].float(), dim=-1).tolist()
        expected = joint_choice(first, second, BANDS)
        assert (document["n"] - 1, document["m"] - 1) == expected, (output["text"], first, second)
        assert BANDS[document["n"] - 1] == document["m"] - 1, "the two options agree"
        changed += int(expected != (median, median_index(second)))
    # Somewhere the joint decision is not the two medians taken alone (else it would not be tested).
    assert changed > 0


def test_joint_ordinal_choices_refuse_bands_that_do_not_fit(cache, tiny_model):
    for bands in ([0, 0, 1, 2], [0, 1, 0, 2, 2], [0, 0, 1, 2, 3]):
        with pytest.raises(EngineError) as caught:
            run(cache, tiny_model, json_schema=JOINT_SCHEMA, ordinal=[{**JOINT[0], "then": {**JOINT[0]["then"], "bands": bands}}], temperature=1.0)
        assert caught.value.field == "params.ordinal.0.then.bands"


def test_ordinal_choices_are_ignored_when_sampling_or_when_an_option_is_several_tokens(cache, tiny_model):
    plain = run(cache, tiny_model, json_schema=SCHEMA)
    several = run(cache, tiny_model, json_schema=SCHEMA, ordinal=[{"after": '"stars":', "choices": ["1 star", "5 stars"]}])
    assert [output["text"] for output in several["outputs"]] == [output["text"] for output in plain["outputs"]]
    sampled = run(cache, tiny_model, json_schema=SCHEMA, temperature=1.0, seed=3)
    sampled_ordinal = run(cache, tiny_model, json_schema=SCHEMA, temperature=1.0, seed=3, ordinal=ORDINALS)
    assert [output["text"] for output in sampled_ordinal["outputs"]] == [output["text"] for output in sampled["outputs"]]


def test_the_protocol_refuses_an_ordinal_choice_without_its_text_or_options():
    request = {"id": "g", "method": "generate", "params": {"model": {"source": "m"}, "prompts": ["p"], "ordinal": ORDINALS}}
    validate_request(request)
    for bad in ([{"after": "", "choices": ["1", "2"]}], [{"after": '"stars":', "choices": ["1"]}], {"after": '"stars":', "choices": ["1", "2"]}):
        with pytest.raises(EngineError) as caught:
            validate_request({**request, "params": {**request["params"], "ordinal": bad}})
        assert "ordinal" in (caught.value.field or "")

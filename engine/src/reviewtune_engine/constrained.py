"""Decoding constrained to a JSON Schema, with xgrammar's transformers logits processor.

Chosen over llguidance, outlines and lm-format-enforcer in docs/decisions/0011-constrained-decoding.md.
The grammar is compact JSON (no whitespace, "," and ":" separators), the form the analysis task
is trained on. Compiled grammars are cached per tokenizer, so a schema costs its compile once.
"""

from __future__ import annotations

import json
import weakref

import jsonschema
import torch

from reviewtune_engine.errors import EngineError

# Keywords xgrammar 0.2 accepts but does not enforce (it compiles them away silently), so an answer
# would parse and still fail the schema: refused up front instead.
UNENFORCED_KEYWORDS = ("not", "if", "then", "else")
# Keywords whose value is a map of name -> schema (the names are not keywords).
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")

# tokenizer -> {"info": TokenizerInfo, "compiler": GrammarCompiler, "never": bool mask, "grammars": {key: CompiledGrammar}}
_per_tokenizer: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _unenforced(schema: object, path: str) -> list[str]:
    found: list[str] = []
    if isinstance(schema, list):
        for index, item in enumerate(schema):
            found += _unenforced(item, f"{path}/{index}")
    if not isinstance(schema, dict):
        return found
    for key, value in schema.items():
        if key in UNENFORCED_KEYWORDS:
            found.append(f"{path}/{key}")
        elif key in _SCHEMA_MAPS and isinstance(value, dict):
            for name, sub in value.items():
                found += _unenforced(sub, f"{path}/{key}/{name}")
        elif key not in ("enum", "const", "default", "examples"):  # values, not schemas
            found += _unenforced(value, f"{path}/{key}")
    return found


def _bad_schema(message: str, hint: str) -> EngineError:
    return EngineError("bad_schema", f"json_schema: {message}", hint=hint, field="params.json_schema")


def _state(tokenizer, vocab_size: int) -> dict:
    import xgrammar as xgr

    state = _per_tokenizer.get(tokenizer)
    if state is None or state["vocab_size"] != vocab_size:
        # vocab_size is the model's logits width, which may exceed the tokenizer's (padded embeddings).
        info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size)
        # Tokens no answer may use, masked at every step on top of xgrammar's mask:
        # - a byte below 0x20: xgrammar 0.2.9 lets them into length-bounded strings ("\x1a" passes
        #   inside {"maxLength": 40}) and JSON forbids them raw; compact JSON has none outside strings;
        # - a piece that is not whole UTF-8: xgrammar counts such bytes into maxLength differently
        #   from the decoded text (a random model's 160-char summary decoded to 171 characters).
        #   Common non-ASCII characters are whole tokens in byte-level vocabularies; rare ones split
        #   over several tokens cannot be written inside a constrained answer.
        never = torch.zeros(vocab_size, dtype=torch.bool)
        stops = set(info.stop_token_ids)
        for token_id, piece in enumerate(info.decoded_vocab):
            raw = bytes(piece)
            if token_id in stops:
                continue
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                never[token_id] = True
                continue
            if any(byte < 0x20 for byte in raw):
                never[token_id] = True
        state = {"vocab_size": vocab_size, "info": info, "compiler": xgr.GrammarCompiler(info), "never": never, "grammars": {}}
        _per_tokenizer[tokenizer] = state
    return state


def compile_schema(schema: dict, tokenizer, vocab_size: int):
    """The compiled grammar of `schema` for this tokenizer; EngineError(bad_schema) naming what is wrong."""
    try:
        jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator).check_schema(schema)
    except jsonschema.SchemaError as error:
        where = "/".join(str(part) for part in error.absolute_path) or "(root)"
        raise _bad_schema(f"not a valid JSON Schema at {where}: {error.message}", "fix the schema (Draft 2020-12)") from error
    unenforced = _unenforced(schema, "#")
    if unenforced:
        raise _bad_schema(
            f"{', '.join(unenforced)} cannot be enforced while decoding (unsupported keywords: {', '.join(UNENFORCED_KEYWORDS)})",
            "express the constraint with enum, const, required, properties, items, anyOf or bounds instead",
        )
    state = _state(tokenizer, vocab_size)
    # Not sort_keys: xgrammar writes properties in the schema's order, which is the trained order.
    key = json.dumps(schema)
    compiled = state["grammars"].get(key)
    if compiled is None:
        try:
            compiled = state["compiler"].compile_json_schema(key, any_whitespace=False, separators=(",", ":"))
        except (RuntimeError, ValueError) as error:
            # xgrammar's messages start with "[time] file.cc:line: "; keep the part that names the problem.
            detail = str(error).strip().split(": ", 1)[-1].strip() if "] " in str(error) else str(error).strip()
            raise _bad_schema(f"unsupported by the constrained decoder (xgrammar): {detail}", "simplify the schema to what xgrammar supports") from error
        if len(state["grammars"]) >= 64:  # fixed schemas and the last requests' per-review ones
            state["grammars"].pop(next(iter(state["grammars"])))
        state["grammars"][key] = compiled
    return compiled


def json_logits_processor(compiled: list, tokenizer, vocab_size: int):
    """A fresh processor for one model.generate() call over a batch, one grammar (compile_schema) per row (xgrammar's matchers hold per-row state)."""
    from xgrammar.contrib.hf import LogitsProcessor

    never = _state(tokenizer, vocab_size)["never"]

    class _JsonLogitsProcessor(LogitsProcessor):
        def __call__(self, input_ids, scores):
            scores = super().__call__(input_ids, scores)
            return scores.masked_fill(never.to(scores.device), float("-inf"))

    return _JsonLogitsProcessor(compiled)

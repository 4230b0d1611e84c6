"""Cost of JSON-schema constrained decoding per generated token (not a test: run it by hand).

    python engine/tests/bench_generate_json.py [tiny|smollm2-135m-instruct ...]

Generates a batch of 4 review-analysis prompts greedily, without and with REVIEW_ANALYSIS_JSON_SCHEMA,
and prints milliseconds per generated token (all rows together) and the schema's first compile.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from reviewtune_engine.constrained import compile_schema
from reviewtune_engine.generate import generate
from reviewtune_engine.models import ModelCache
from reviewtune_engine.testing import make_tiny_model

SCHEMA = json.loads((Path(__file__).parent / "fixtures" / "review-analysis.schema.json").read_text())
REVIEWS = [
    "Crushes ice in seconds and the jar is sturdy, but it is loud.",
    "The headphones died after two hours. Returned them.",
    "Light moisturizer, my skin looks better after a week.",
    "Fine for the price.",
]
INSTRUCTION = "Analyze this product review. Answer with JSON: stars (1-5), sentiment, score (-1 to 1), quality, recommendation, aspects ({term, polarity}), summary (one sentence)."


def bench(source: str, max_new_tokens: int) -> None:
    cache = ModelCache()
    model, tokenizer = cache.get({"source": source})
    prompts = [tokenizer.apply_chat_template([{"role": "user", "content": f"{INSTRUCTION}\n\n{review}"}], tokenize=False, add_generation_prompt=True) for review in REVIEWS]
    started = time.perf_counter()
    compile_schema(SCHEMA, tokenizer, model.get_output_embeddings().weight.shape[0])
    compile_seconds = time.perf_counter() - started
    params = {"model": {"source": source}, "prompts": prompts, "max_new_tokens": max_new_tokens, "batch_size": 4}
    generate({**params, "max_new_tokens": 4}, cache, lambda _: None, lambda: False)  # warm-up
    for label, extra in (("free", {}), ("json_schema", {"json_schema": SCHEMA})):
        result = generate({**params, **extra}, cache, lambda _: None, lambda: False)
        tokens = sum(output["new_tokens"] for output in result["outputs"])
        print(f"{source if len(source) < 40 else 'tiny'} {label:12} {tokens:4} tokens in {result['seconds']:6.2f}s: {1000 * result['seconds'] / tokens:6.2f} ms/token  finish={[o['finish_reason'] for o in result['outputs']]}")
        if extra:
            print(f"  answers: {[o['text'][:90] for o in result['outputs']][:2]}")
    print(f"  first compile of the schema (tokenizer info + grammar): {compile_seconds:.2f}s")


if __name__ == "__main__":
    for name in sys.argv[1:] or ["tiny", "smollm2-135m-instruct"]:
        if name == "tiny":
            bench(str(make_tiny_model(Path(tempfile.mkdtemp()) / "tiny")), 400)
        else:
            bench(name, 160)

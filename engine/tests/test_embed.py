"""Embeddings from the embedded all-MiniLM-L6-v2: normalized 384-d vectors, similar texts closer,
batching does not change a text's vector (padding is masked out of the mean)."""

from __future__ import annotations

import math

from reviewtune_engine.embed import embed


def test_embeddings_are_normalized_similar_texts_closer_and_batch_independent():
    texts = ["This blender is great, it crushes ice.", "A great blender that crushes ice easily.", "The battery died after two hours of use, awful."]
    result = embed({"texts": texts})
    vectors = result["embeddings"]
    assert result["dimensions"] == 384 and len(vectors) == 3
    dot = lambda a, b: sum(x * y for x, y in zip(a, b))  # noqa: E731
    for vector in vectors:
        assert math.isclose(dot(vector, vector), 1.0, rel_tol=1e-4)
    assert dot(vectors[0], vectors[1]) > dot(vectors[0], vectors[2]) + 0.2
    alone = embed({"texts": [texts[0]], "batch_size": 1})["embeddings"][0]
    assert max(abs(a - b) for a, b in zip(alone, vectors[0])) < 1e-5


def test_texts_batched_by_length_come_back_in_their_order():
    # Lengths mixed so the length-sorted batches differ from the input's order.
    texts = ["ok", "The lid cracked the first week and the seller never answered my emails about it.", "Great.", "Loud motor, but it blends frozen fruit in seconds; worth the price for daily smoothies.", "Meh"]
    together = embed({"texts": texts, "batch_size": 2})
    for text, vector in zip(texts, together["embeddings"]):
        alone = embed({"texts": [text], "batch_size": 1})["embeddings"][0]
        assert max(abs(a - b) for a, b in zip(alone, vector)) < 1e-5, text
    assert together["tokens"] == sum(embed({"texts": [text]})["tokens"] for text in texts)

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


def test_nearest_finds_the_most_similar_corpus_rows_exactly_and_names_a_broken_buffer():
    import base64

    import numpy as np
    import pytest

    from reviewtune_engine.embed import QUERY_BLOCK, nearest
    from reviewtune_engine.errors import EngineError

    rng = np.random.default_rng(3)
    corpus = rng.standard_normal((QUERY_BLOCK + 37, 16)).astype("<f4")
    corpus /= np.linalg.norm(corpus, axis=1, keepdims=True)
    pack = lambda array: base64.b64encode(array.astype("<f4").tobytes()).decode()  # noqa: E731
    # The corpus as its own queries, over more than one block: each row finds itself first.
    result = nearest({"dimensions": 16, "corpus": pack(corpus), "k": 3})
    assert [row[0] for row in result["indices"]] == list(range(len(corpus)))
    assert all(abs(row[0] - 1.0) < 1e-5 and row[0] >= row[1] >= row[2] for row in result["scores"])
    # Other queries: the same order as a brute-force dot product.
    queries = rng.standard_normal((5, 16)).astype("<f4")
    found = nearest({"dimensions": 16, "corpus": pack(corpus), "queries": pack(queries), "k": 4})
    expected = np.argsort(-(queries @ corpus.T), axis=1)[:, :4]
    assert found["indices"] == expected.tolist()
    # k larger than the corpus gives the whole corpus.
    assert len(nearest({"dimensions": 16, "corpus": pack(corpus[:2]), "k": 8})["indices"][0]) == 2
    with pytest.raises(EngineError, match="not a whole number of 16-d float32 vectors"):
        nearest({"dimensions": 16, "corpus": base64.b64encode(b"\0" * 10).decode(), "k": 1})

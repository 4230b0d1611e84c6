"""Sequence classification on a causal LM: rows, batches, metrics, and the `classify` method.

The head is transformers' AutoModelForSequenceClassification on the same base (a linear `score`
over the last non-padding token's hidden state). With LoRA/QLoRA, PEFT's SEQ_CLS task type trains
the head in full and saves it with the adapter; `classification.json` beside the adapter names the
classes, so an adapter folder is enough to classify. Metrics are computed here, in numpy, from the
head's softmax probabilities: accuracy, macro F1, one-vs-rest AUC, per-class figures, confusion matrix.
Real review sets are 70-80% positive, so by default the loss weighs each class by its inverse
frequency in the training rows (`training.class_balance: weighted_loss`); see WeightedLoss.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from reviewtune_engine import models
from reviewtune_engine.errors import EngineError
from reviewtune_engine.files import read_jsonl

LABELS_FILE = "classification.json"  # written into a classification run's adapter/ folder


# ---- data -------------------------------------------------------------------------------------


def read_rows(path: str, label: str, label_names: list[str]) -> list[dict]:
    """{text, label} rows; label is a class name (or its index). Names the file and line of a bad row."""
    index_of = {name: index for index, name in enumerate(label_names)}

    def row(value):
        label_value = value.get("label") if isinstance(value, dict) else None
        if isinstance(label_value, int) and not isinstance(label_value, bool) and 0 <= label_value < len(label_names):
            label_value = label_names[label_value]
        if not isinstance(value, dict) or not isinstance(value.get("text"), str) or not value["text"].strip() or str(label_value) not in index_of:
            return f"needs a non-empty string field text and a label among {', '.join(label_names)}"
        return {"text": value["text"], "label": index_of[str(label_value)]}

    return read_jsonl(path, label, row)


def tokenize_rows(rows: list[dict], tokenizer, max_length: int) -> list[dict]:
    """Texts cut at max_length tokens; the head reads the last token, so a cut review keeps its start."""
    encoded = tokenizer([row["text"] for row in rows], add_special_tokens=False, truncation=True, max_length=max_length)["input_ids"]
    return [{"input_ids": ids, "labels": row["label"]} for ids, row in zip(encoded, rows) if ids]


class PaddingCollator:
    """Pads a batch to its longest example (or to max_length, as the reference recipes do). The head
    pools the last non-padding token, so packing several examples into one row is not possible here."""

    def __init__(self, tokenizer, packing: str, max_length: int):
        self.pad_token_id = tokenizer.pad_token_id
        self.length = max_length if packing == "pad_to_max_length" else None

    def __call__(self, examples: list[dict]) -> dict:
        import torch

        width = self.length or max(len(example["input_ids"]) for example in examples)
        input_ids = torch.full((len(examples), width), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(examples), width), dtype=torch.long)
        for row, example in enumerate(examples):
            ids = example["input_ids"][:width]
            input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
            attention_mask[row, : len(ids)] = 1
        labels = torch.tensor([example["labels"] for example in examples], dtype=torch.long)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


# ---- class-weighted loss -----------------------------------------------------------------------


def class_weights(labels: list[int], classes: int) -> list[float]:
    """sklearn's "balanced" weights: rows / (classes present * rows of the class), so the weight over
    the training rows averages 1 and the loss keeps its scale. A class without training rows gets 0
    (it never occurs as a target, so its weight multiplies nothing)."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=classes)
    present = int((counts > 0).sum())
    return [round(float(len(labels) / (present * count)), 6) if count else 0.0 for count in counts]


class WeightedLoss:
    """The Trainer's compute_loss_func: cross-entropy with each row weighted by its class's weight.

    Without it a head trained briefly on 80% positive reviews learns the prior and answers "positive"
    for everything (accuracy = the majority share, macro F1 ~0.3). During training the Trainer passes
    num_items_in_batch (rows in the whole accumulated step) and does not divide by the accumulation
    steps itself, so the weighted sum is divided by it; the weights average 1 over the training rows,
    so this estimates the weighted mean. Evaluations pass no count and get the exact weighted mean
    (torch's cross_entropy(weight=...)), so eval_loss, which early stopping watches, is the same
    objective as training and does not reward predicting the majority class."""

    def __init__(self, weights: list[float]):
        import torch

        self.weights = torch.tensor(weights, dtype=torch.float32)

    def __call__(self, outputs, labels, num_items_in_batch=None):
        import torch.nn.functional as functional

        logits = outputs["logits"] if isinstance(outputs, dict) else outputs[0]
        labels = labels.to(logits.device)
        row_weights = self.weights.to(logits.device)[labels]
        weighted = (functional.cross_entropy(logits.float(), labels, reduction="none") * row_weights).sum()
        if num_items_in_batch is None:
            return weighted / row_weights.sum()
        return weighted / num_items_in_batch


# ---- metrics ----------------------------------------------------------------------------------


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float | None:
    """Area under the ROC curve as the Mann-Whitney statistic: the chance that a random positive scores
    above a random negative, ties counting half. None when there are no positives or no negatives."""
    positive = positive.astype(bool)
    positives, negatives = int(positive.sum()), int((~positive).sum())
    if positives == 0 or negatives == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores), dtype=np.float64)
    start = 0
    while start < len(scores):  # average ranks over runs of equal scores
        end = start
        while end + 1 < len(scores) and sorted_scores[end + 1] == sorted_scores[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return float((ranks[positive].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def classification_figures(logits: np.ndarray, labels: np.ndarray, label_names: list[str]) -> dict:
    """Accuracy, macro F1 and macro one-vs-rest AUC (over the classes that have positives and
    negatives in the set), per-class precision/recall/F1/support/AUC and the confusion matrix."""
    probabilities = softmax(logits.astype(np.float64))
    predicted = probabilities.argmax(axis=-1)
    classes = len(label_names)
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    per_class = []
    for index, name in enumerate(label_names):
        true_positive = confusion[index, index]
        predicted_count, support = confusion[:, index].sum(), confusion[index, :].sum()
        precision = true_positive / predicted_count if predicted_count else 0.0
        recall = true_positive / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class.append(
            {
                "label": name,
                "precision": round(float(precision), 6),
                "recall": round(float(recall), 6),
                "f1": round(float(f1), 6),
                "support": int(support),
                "auc": roc_auc(probabilities[:, index], labels == index),
            }
        )
    aucs = [entry["auc"] for entry in per_class if entry["auc"] is not None]
    present = [entry for entry in per_class if entry["support"] > 0 or entry["precision"] > 0]
    return {
        "labels": list(label_names),
        "accuracy": round(float((predicted == labels).mean()), 6),
        # Macro F1 over the classes that occur in the set or are predicted (sklearn's default counts all
        # classes; a class absent from both would only add a meaningless 0).
        "macro_f1": round(float(np.mean([entry["f1"] for entry in present])), 6) if present else 0.0,
        "auc": round(float(np.mean(aucs)), 6) if aucs else None,
        "per_class": [{**entry, "auc": round(entry["auc"], 6) if entry["auc"] is not None else None} for entry in per_class],
        "confusion_matrix": confusion.tolist(),
        "examples": int(len(labels)),
    }


class MetricsRecorder:
    """The Trainer's compute_metrics: returns the scalar figures (logged as eval_accuracy, ...) and
    keeps the full figures of the latest evaluation for metrics.jsonl and the result."""

    def __init__(self, label_names: list[str]):
        self.label_names = label_names
        self.last: dict | None = None

    def __call__(self, prediction) -> dict:
        logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
        self.last = classification_figures(np.asarray(logits), np.asarray(prediction.label_ids), self.label_names)
        figures = {"accuracy": self.last["accuracy"], "macro_f1": self.last["macro_f1"]}
        if self.last["auc"] is not None:
            figures["auc"] = self.last["auc"]
        return figures


# ---- serving: labels and probabilities for texts ----------------------------------------------


class ClassifierCache:
    """Keeps the last classifier (base + head, or base + adapter with its head) loaded between requests."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self.model = self.tokenizer = None
        self.labels: list[str] = []

    def get(self, reference: dict, adapter: str | None):
        key = (reference["source"], reference.get("revision"), bool(reference.get("allow_pickle")), adapter)
        if key != self._key:
            self.clear()
            self.model, self.tokenizer, self.labels = load_classifier(reference, adapter)
            self._key = key
        return self.model, self.tokenizer, self.labels

    def clear(self) -> None:
        self._key = self.model = self.tokenizer = None
        self.labels = []


def adapter_labels(adapter: Path) -> list[str]:
    file = adapter / LABELS_FILE
    if not (adapter / "adapter_config.json").is_file():
        raise EngineError("adapter_not_found", f"{adapter} is not a PEFT adapter folder (no adapter_config.json)", hint="pass the adapter/ folder of a finished run", file=str(adapter / "adapter_config.json"))
    if not file.is_file():
        raise EngineError(
            "not_a_classifier",
            f"{adapter} is not the adapter of a classification run (no {LABELS_FILE})",
            hint="train one with: reviewtune train --task classify --labels sentiment --data DATASET",
            file=str(file),
        )
    return list(json.loads(file.read_text())["labels"])


def load_classifier(reference: dict, adapter: str | None):
    allow_pickle = bool(reference.get("allow_pickle"))
    resolved = models.resolve(reference["source"], allow_pickle=allow_pickle, revision=reference.get("revision"))
    tokenizer = models.load_tokenizer(resolved)
    tokenizer.padding_side = "right"
    if adapter is not None:
        adapter_path = Path(adapter)
        labels = adapter_labels(adapter_path)
        for weights in adapter_path.glob("*.safetensors"):
            models.check_safetensors(weights)
        base = models.load_model(resolved, allow_pickle=allow_pickle, head=labels, pad_token_id=tokenizer.pad_token_id)
        from peft import PeftModel

        try:
            model = PeftModel.from_pretrained(base, str(adapter_path.resolve()))
        except (RuntimeError, ValueError, KeyError) as error:
            raise EngineError(
                "adapter_incompatible",
                f"adapter {adapter} does not fit model {reference['source']}: {str(error).splitlines()[0]}",
                hint="use the base model the adapter was trained on (see its adapter_config.json)",
                file=str(adapter_path),
            ) from error
    else:
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(resolved.path, gguf_file=resolved.gguf_file) if resolved.gguf_file else AutoConfig.from_pretrained(resolved.path, revision=resolved.revision)
        if not any(name.endswith("ForSequenceClassification") for name in (config.architectures or [])):
            raise EngineError(
                "not_a_classifier",
                f"{reference['source']} has no classification head (architectures: {', '.join(config.architectures or ['?'])})",
                hint="pass a classification run (reviewtune classify --run runs/<id>), or its adapter with --adapter",
                field="model.source",
            )
        labels = [config.id2label[index] for index in range(config.num_labels)]
        model = models.load_model(resolved, allow_pickle=allow_pickle, head=labels, pad_token_id=tokenizer.pad_token_id)
    model.eval()
    return model, tokenizer, labels


def classify(params: dict, cache: ClassifierCache) -> dict:
    import torch

    model, tokenizer, labels = cache.get(params["model"], params.get("adapter"))
    texts: list[str] = params["texts"]
    batch_size, max_length = params.get("batch_size", 8), params.get("max_length", 512)
    started = time.perf_counter()
    outputs = []
    with torch.inference_mode():
        for offset in range(0, len(texts), batch_size):
            batch = [text if text.strip() else " " for text in texts[offset : offset + batch_size]]
            encoded = tokenizer(batch, return_tensors="pt", padding=True, truncation=True, max_length=max_length, add_special_tokens=False)
            probabilities = softmax(model(**encoded).logits.float().numpy().astype(np.float64))
            for row in probabilities:
                outputs.append({"label": labels[int(row.argmax())], "probabilities": {name: round(float(value), 6) for name, value in zip(labels, row)}})
    return {"labels": labels, "outputs": outputs, "seconds": round(time.perf_counter() - started, 4)}

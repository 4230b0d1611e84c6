"""Classification heads on a tiny random Llama: metrics against hand-checked cases, LoRA (SEQ_CLS) and
full fine-tuning (loss goes down, the head is saved and reloads to the same logits), classify, bad rows,
and the class-weighted loss on skewed rows (the weights, the loss by hand, gradient accumulation).
Less collapse with weights is not tested here: on the tiny model neither setting collapses reliably
within a few seconds of training, so such a test would pass or fail by chance of the seed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import train_config, write_jsonl
from reviewtune_engine.classification import ClassifierCache, WeightedLoss, class_weights, classification_figures, classify, roc_auc
from reviewtune_engine.errors import EngineError
from reviewtune_engine.train import train

LABELS = ["negative", "neutral", "positive"]
WORDS = [("great", "positive"), ("awful", "negative"), ("fine", "neutral"), ("sturdy", "positive"), ("broken", "negative"), ("okay", "neutral")]


def review_rows(count: int, offset: int = 0) -> list[dict]:
    return [{"text": f"Review {index}: the blender is {WORDS[index % len(WORDS)][0]}", "label": WORDS[index % len(WORDS)][1]} for index in range(offset, offset + count)]


def skewed_rows(count: int, offset: int = 0) -> list[dict]:
    """80% positive, 10% negative, 10% neutral, as real review sets are (70-80% positive)."""
    cycle = ["positive"] * 8 + ["negative", "neutral"]
    words = {label: [word for word, name in WORDS if name == label] for label in LABELS}
    rows = []
    for index in range(offset, offset + count):
        label = cycle[index % len(cycle)]
        rows.append({"text": f"Review {index}: the blender is {words[label][index % 2]}", "label": label})
    return rows


def run_classify_training(tmp_path: Path, model: Path, rows: list[dict] | None = None, **overrides):
    config = train_config(model, task="classify", labels="sentiment", **overrides)
    tmp_path.mkdir(parents=True, exist_ok=True)
    params = {
        "run_dir": str(tmp_path / "run"),
        "config": config,
        "train_file": write_jsonl(tmp_path / "train.jsonl", rows if rows is not None else review_rows(48)),
        "eval_file": write_jsonl(tmp_path / "val.jsonl", review_rows(12, offset=200)),
        "label_names": LABELS,
    }
    events: list[dict] = []
    result = train(params, events.append, lambda: False)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    return result, events, records


# ---- metrics against cases worked out by hand ----------------------------------------------------


def test_auc_matches_hand_computed_pairs():
    # Positives score 0.35 and 0.8, negatives 0.1 and 0.4: of the 4 (positive, negative) pairs the
    # positive wins 3 (0.35>0.1, 0.8>0.1, 0.8>0.4) -> 3/4.
    assert roc_auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == pytest.approx(0.75)
    # A tie counts half: positives {0.5, 0.9}, negatives {0.5, 0.2}: 0.5 + 1 + 1 + 1 = 3.5 of 4.
    assert roc_auc(np.array([0.5, 0.5, 0.2, 0.9]), np.array([1, 0, 0, 1])) == pytest.approx(0.875)
    assert roc_auc(np.array([0.2, 0.3]), np.array([1, 1])) is None  # no negatives: undefined


def test_figures_match_a_hand_checked_three_class_case():
    # Probabilities chosen directly (logits = log p, so softmax gives them back).
    probabilities = np.array(
        [
            [0.7, 0.2, 0.1],  # true negative, predicted negative
            [0.5, 0.3, 0.2],  # true neutral, predicted negative
            [0.2, 0.6, 0.2],  # true neutral, predicted neutral
            [0.15, 0.25, 0.6],  # true positive, predicted positive
            [0.3, 0.4, 0.3],  # true positive, predicted neutral
        ]
    )
    labels = np.array([0, 1, 1, 2, 2])
    figures = classification_figures(np.log(probabilities), labels, LABELS)
    assert figures["confusion_matrix"] == [[1, 0, 0], [1, 1, 0], [0, 1, 1]]
    assert figures["accuracy"] == pytest.approx(3 / 5)
    # negative: P 1/2 R 1 F1 2/3; neutral: P 1/2 R 1/2 F1 1/2; positive: P 1 R 1/2 F1 2/3
    assert [entry["f1"] for entry in figures["per_class"]] == pytest.approx([2 / 3, 1 / 2, 2 / 3], abs=1e-6)
    assert figures["macro_f1"] == pytest.approx((2 / 3 + 1 / 2 + 2 / 3) / 3, abs=1e-6)
    # one-vs-rest AUCs by counting pairs:
    #   negative: positive 0.7 vs negatives 0.5 0.2 0.15 0.3 -> 4/4 = 1
    #   neutral: positives 0.3 0.6 vs negatives 0.2 0.25 0.4 -> (1+1+0) + (1+1+1) = 5/6
    #   positive: positives 0.6 0.3 vs negatives 0.1 0.2 0.2 -> 3 + 3 = 6/6 = 1
    # (ties are covered above: probabilities from different rows are rarely equal after softmax)
    assert [entry["auc"] for entry in figures["per_class"]] == pytest.approx([1.0, 5 / 6, 1.0], abs=1e-6)
    assert figures["auc"] == pytest.approx((1 + 5 / 6 + 1) / 3, abs=1e-6)
    assert [entry["support"] for entry in figures["per_class"]] == [1, 2, 2]


# ---- the class-weighted loss ---------------------------------------------------------------------


def test_class_weights_are_sklearns_balanced_weights():
    labels = [2] * 80 + [0] * 10 + [1] * 10  # 80/10/10
    weights = class_weights(labels, 3)
    # rows / (classes * rows of the class): 100 / (3 * 10) and 100 / (3 * 80)
    assert weights == pytest.approx([100 / 30, 100 / 30, 100 / 240], abs=1e-6)
    assert np.mean([weights[label] for label in labels]) == pytest.approx(1.0, abs=1e-5)  # loss keeps its scale
    assert class_weights([0, 1, 2], 3) == [1.0, 1.0, 1.0]  # balanced rows: the plain loss
    # A class with no training rows: weight 0, and the others average 1 over the rows.
    assert class_weights([0, 0, 0, 2], 3) == pytest.approx([4 / 6, 0.0, 4 / 2])


def test_weighted_loss_equals_the_weighted_cross_entropy_by_hand():
    weights = [2.0, 3.0, 0.5]
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0], [0.0, 0.0, 3.0], [1.0, 1.0, 1.0]])
    labels = torch.tensor([0, 2, 2, 1])
    log_probabilities = logits.numpy() - np.log(np.exp(logits.numpy()).sum(axis=1, keepdims=True))
    row_losses = -log_probabilities[np.arange(4), labels.numpy()]
    row_weights = np.array([weights[label] for label in labels.numpy()])  # 2, 0.5, 0.5, 3
    loss = WeightedLoss(weights)
    # Evaluation (no item count): the weighted mean, as torch's cross_entropy(weight=...) defines it.
    expected_mean = (row_weights * row_losses).sum() / row_weights.sum()
    assert loss({"logits": logits}, labels).item() == pytest.approx(expected_mean, rel=1e-6)
    assert loss({"logits": logits}, labels).item() == pytest.approx(torch.nn.functional.cross_entropy(logits, labels, weight=torch.tensor(weights)).item(), rel=1e-6)
    # Training: this micro-batch's share of an accumulated step of 10 rows.
    assert loss((logits,), labels, num_items_in_batch=torch.tensor(10)).item() == pytest.approx((row_weights * row_losses).sum() / 10, rel=1e-6)


def test_balanced_rows_get_weights_of_one_and_the_weights_are_recorded(tmp_path, tiny_model):
    weighted, events, records = run_classify_training(tmp_path / "weighted", tiny_model, training={"max_steps": 1})
    assert weighted["class_weights"] == {name: 1.0 for name in LABELS}
    record = next(record for record in records if record["kind"] == "class_weights")
    assert record["weights"] == weighted["class_weights"] and record["train_rows"] == {name: 16 for name in LABELS}
    assert any(event["kind"] == "status" and event["message"].startswith("class weights") for event in events)
    plain, _, plain_records = run_classify_training(tmp_path / "plain", tiny_model, training={"max_steps": 1, "class_balance": "none"})
    assert plain["class_weights"] is None and not any(record["kind"] == "class_weights" for record in plain_records)


@pytest.mark.parametrize("class_balance", ["weighted_loss", "none"])
def test_gradient_accumulation_does_not_scale_the_loss(tmp_path, tiny_model, class_balance):
    # The first step sees the same 8 rows (same seed, same order) as one batch of 8 or two of 4, from
    # the same weights: the loss must be the same. The model's own loss gave twice as much with 2x4.
    first_loss = {}
    for batch_size, accumulation in [(8, 1), (4, 2)]:
        training = {"max_steps": 1, "batch_size": batch_size, "gradient_accumulation": accumulation, "class_balance": class_balance}
        result, _, records = run_classify_training(tmp_path / f"{batch_size}x{accumulation}", tiny_model, skewed_rows(40), training=training)
        first_loss[batch_size] = next(record["loss"] for record in records if record["kind"] == "train")
    if class_balance == "weighted_loss":  # 32 positive, 4 negative, 4 neutral rows
        assert result["class_weights"] == pytest.approx({"negative": 40 / 12, "neutral": 40 / 12, "positive": 40 / 96}, abs=1e-5)
    assert first_loss[4] == pytest.approx(first_loss[8], rel=1e-4)


# ---- training ------------------------------------------------------------------------------------


def test_lora_head_trains_is_saved_with_the_adapter_and_reloads_identically(tmp_path, tiny_model):
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    result, events, records = run_classify_training(tmp_path, tiny_model, training={"epochs": 4, "learning_rate": 0.01})
    assert result["status"] == "completed"
    losses = [record["loss"] for record in records if record["kind"] == "train"]
    assert np.mean(losses[-3:]) < np.mean(losses[:3]) * 0.8, losses
    evals = [record for record in records if record["kind"] == "eval"]
    assert len(evals) == 4 and all(0 <= record["accuracy"] <= 1 and record["auc"] is not None for record in evals)
    assert evals[-1]["confusion_matrix"] and len(evals[-1]["per_class"]) == 3
    assert any(event["kind"] == "eval" and "macro_f1" in event for event in events)
    figures = result["classification"]
    assert figures["labels"] == LABELS and figures["accuracy"] > 0.5, figures
    assert sum(map(sum, figures["confusion_matrix"])) == figures["examples"] == 12

    adapter = Path(result["adapter_dir"])
    assert json.loads((adapter / "classification.json").read_text())["labels"] == LABELS
    adapter_config = json.loads((adapter / "adapter_config.json").read_text())
    assert adapter_config["task_type"] == "SEQ_CLS"
    weights = load_file(adapter / "adapter_model.safetensors")
    assert any("score" in key for key in weights), "the classification head is not saved with the adapter"

    # Plain PEFT reload == the engine's classify, and it reproduces the accuracy measured in training.
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    base = AutoModelForSequenceClassification.from_pretrained(tiny_model, num_labels=3, pad_token_id=tokenizer.pad_token_id)
    reloaded = PeftModel.from_pretrained(base, str(adapter)).eval()
    texts = [row["text"] for row in review_rows(12, offset=200)]
    encoded = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    with torch.no_grad():
        plain = torch.softmax(reloaded(**encoded).logits, dim=-1).numpy()
    answer = classify({"model": {"source": str(tiny_model)}, "adapter": str(adapter), "texts": texts, "batch_size": 5}, ClassifierCache())
    engine = np.array([[output["probabilities"][name] for name in LABELS] for output in answer["outputs"]])
    assert answer["labels"] == LABELS
    np.testing.assert_allclose(engine, plain, atol=1e-5)
    truth = [row["label"] for row in review_rows(12, offset=200)]
    accuracy = np.mean([output["label"] == label for output, label in zip(answer["outputs"], truth)])
    assert accuracy == pytest.approx(figures["accuracy"])
    assert result["parameters"]["trainable"] < result["parameters"]["total"]


def test_full_fine_tuning_with_a_head_saves_a_classifier_folder(tmp_path, tiny_model):
    result, _, records = run_classify_training(tmp_path, tiny_model, method="full", training={"epochs": 3, "learning_rate": 0.002})
    losses = [record["loss"] for record in records if record["kind"] == "train"]
    assert np.mean(losses[-3:]) < np.mean(losses[:3]), losses
    assert result["parameters"]["trainable"] == result["parameters"]["total"]
    model_dir = Path(result["model_dir"])
    config = json.loads((model_dir / "config.json").read_text())
    assert config["architectures"] == ["LlamaForSequenceClassification"]
    assert [config["id2label"][str(index)] for index in range(3)] == LABELS
    answer = classify({"model": {"source": str(model_dir)}, "texts": [row["text"] for row in review_rows(12, offset=200)]}, ClassifierCache())
    truth = [row["label"] for row in review_rows(12, offset=200)]
    assert np.mean([output["label"] == label for output, label in zip(answer["outputs"], truth)]) == pytest.approx(result["classification"]["accuracy"])


def test_classify_refuses_a_model_without_a_head(tiny_model):
    with pytest.raises(EngineError) as caught:
        classify({"model": {"source": str(tiny_model)}, "texts": ["fine"]}, ClassifierCache())
    assert caught.value.code == "not_a_classifier"
    assert "--task classify" in caught.value.hint or "classify --run" in caught.value.hint


def test_bad_label_names_the_file_and_line(tmp_path, tiny_model):
    rows = review_rows(4) + [{"text": "ok", "label": "meh"}]
    params = {
        "run_dir": str(tmp_path / "run"),
        "config": train_config(tiny_model, task="classify", labels="sentiment"),
        "train_file": write_jsonl(tmp_path / "train.jsonl", rows),
        "label_names": LABELS,
    }
    with pytest.raises(EngineError) as caught:
        train(params, lambda event: None, lambda: False)
    assert caught.value.code == "bad_data"
    assert "train.jsonl:5" in caught.value.message and "positive" in caught.value.message


def test_qlora_classifier_on_cpu_suggests_lora(tmp_path, tiny_model):
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is visible")
    config = train_config(tiny_model, method="qlora", quantization={"bits": 4, "quant_type": "nf4", "compute_dtype": "float16", "double_quant": False})
    with pytest.raises(EngineError) as caught:
        run_classify_training(tmp_path, tiny_model, **{key: config[key] for key in ("method", "quantization")})
    assert caught.value.code == "qlora_needs_cuda"
    assert "lora" in caught.value.hint


def test_a_head_on_a_checkpoint_that_stores_tied_embeddings_as_lm_head_keeps_them(tmp_path, tiny_model):
    # The embedded SmolLM2 folder stores its tied embeddings once, as lm_head.weight; a classifier has
    # no lm_head, so without care its input embeddings would be random.
    import shutil

    from safetensors.torch import load_file, save_file
    from transformers import AutoModelForCausalLM

    from reviewtune_engine import models

    folder = tmp_path / "lm-head-only"
    shutil.copytree(tiny_model, folder)
    weights = load_file(folder / "model.safetensors")
    embeddings = weights.pop("model.embed_tokens.weight", None)
    if embeddings is None:
        embeddings = weights["lm_head.weight"]
    weights["lm_head.weight"] = embeddings.clone()
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    classifier = models.load_model(models.resolve(str(folder)), head=LABELS, pad_token_id=2)
    assert torch.equal(classifier.get_input_embeddings().weight, embeddings)
    causal = AutoModelForCausalLM.from_pretrained(tiny_model)
    assert torch.equal(classifier.model.layers[0].self_attn.q_proj.weight, causal.model.layers[0].self_attn.q_proj.weight)

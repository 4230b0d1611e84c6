"""Shared fixtures: a tiny random Llama folder, small instruction files, and a live engine process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reviewtune_engine.testing import make_tiny_model

ROOT = Path(__file__).resolve().parents[2]
TRANSCRIPTS = ROOT / "packages" / "contracts" / "__fixtures__" / "transcripts"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def chat(user: str, answer: str) -> dict:
    return {
        "prompt": f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n",
        "completion": f"{answer}<|im_end|>\n",
    }


def sentiment_rows(count: int, offset: int = 0) -> list[dict]:
    words = [("great", "positive"), ("awful", "negative"), ("fine", "neutral"), ("sturdy", "positive"), ("broken", "negative")]
    rows = []
    for index in range(offset, offset + count):
        word, label = words[index % len(words)]
        rows.append(chat(f"Analyze the sentiment of this review: The blender is {word}, item {index}.", f"Sentiment: {label}."))
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


def train_config(model: Path, **overrides) -> dict:
    """A resolved config as the Node side sends it (every default filled)."""
    config = {
        "model": {"source": str(model), "allow_pickle": False},
        "data": {"validation_fraction": 0.1, "demo_reviews": 60},
        "method": "lora",
        "lora": {"r": 8, "alpha": 16, "dropout": 0.0, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], "bias": "none"},
        "training": {
            "epochs": 3,
            "learning_rate": 0.02,
            "batch_size": 4,
            "gradient_accumulation": 2,
            "warmup_steps": 0,
            "scheduler": "linear",
            "weight_decay": 0.01,
            "max_grad_norm": 1.0,
            "max_length": 128,
            "seed": 7,
            "packing": "padding_free",
            "logging_steps": 1,
            "threads": 0,
            # The same arithmetic on every machine (auto is bf16 where the CPU has it); bf16 has its own tests.
            "precision": "fp32",
        },
        "evaluation": {"strategy": "epoch"},
        "checkpoints": {"keep": 2},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    return config


class Engine:
    """A real engine process driven over stdio, as the Node client drives it."""

    def __init__(self, env: dict | None = None):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reviewtune_engine"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.ready = self.read()
        self.next_id = 0

    def read(self) -> dict:
        line = self.process.stdout.readline()
        assert line, "engine closed stdout"
        return json.loads(line)

    def send(self, message: dict) -> None:
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def request(self, method: str, params: dict, on_message=None) -> tuple[dict, list[dict]]:
        """Returns (final result or error message, events)."""
        self.next_id += 1
        request_id = f"r{self.next_id}"
        self.send({"id": request_id, "method": method, "params": params})
        events = []
        while True:
            message = self.read()
            if on_message:
                on_message(message)
            if message.get("id") != request_id:
                continue
            if message["type"] == "event":
                events.append(message["event"])
                continue
            return message, events

    def close(self) -> int:
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=60)
        return self.process.returncode


@pytest.fixture
def engine():
    process = Engine()
    yield process
    if process.process.poll() is None:
        process.process.kill()
        process.process.wait()

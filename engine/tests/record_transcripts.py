"""Records the protocol transcript both test suites replay: `python tests/record_transcripts.py`.

Runs a real engine on a tiny random model and writes every line it sent and received to
packages/contracts/__fixtures__/transcripts/session.jsonl, with machine paths replaced by
$TINY_MODEL and $WORK so the file is the same everywhere. Re-record after a protocol change.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from conftest import TRANSCRIPTS, Engine, sentiment_rows, train_config, write_jsonl  # noqa: E402
from reviewtune_engine.testing import make_tiny_model  # noqa: E402

CHATML_PROMPT = "<|im_start|>user\nIs this review positive? The blender is great.<|im_end|>\n<|im_start|>assistant\n"


def requests(model: Path, work: Path) -> list[tuple[str, dict]]:
    config = train_config(model, training={"max_steps": 2, "batch_size": 4, "gradient_accumulation": 1}, evaluation={"strategy": "steps", "every_steps": 1})
    train_file = write_jsonl(work / "train.jsonl", sentiment_rows(8))
    validation_file = write_jsonl(work / "val.jsonl", sentiment_rows(4, offset=8))
    return [
        ("ping", {}),
        ("model_info", {"model": {"source": str(model), "allow_pickle": False}}),
        ("tokenize", {"model": {"source": str(model), "allow_pickle": False}, "text": "Rated 5/5 stars", "add_special_tokens": False}),
        ("count_tokens", {"model": {"source": str(model), "allow_pickle": False}, "texts": ["Rated 5/5 stars", "great"], "add_special_tokens": False}),
        ("generate", {"model": {"source": str(model), "allow_pickle": False}, "prompts": [CHATML_PROMPT], "max_new_tokens": 4, "temperature": 0, "top_p": 1, "batch_size": 8, "seed": 0, "stream": True}),
        ("generate", {"model": {"source": str(work / "missing-model"), "allow_pickle": False}, "prompts": ["x"], "max_new_tokens": 4, "temperature": 0, "top_p": 1, "batch_size": 8, "seed": 0, "stream": False}),
        ("no_such_method", {}),
        ("generate", {"model": {"source": str(model), "allow_pickle": False}, "prompts": ["x"], "max_new_tokens": -1}),
        ("cancel", {"target": "not-running"}),
        ("train", {"run_dir": str(work / "run"), "config": config, "train_file": train_file, "eval_file": validation_file, "resume": False}),
        ("score", {"model": {"source": str(model), "allow_pickle": False}, "prompts": [CHATML_PROMPT + "Sentiment:"], "candidates": [[" positive", " negative"]], "batch_size": 8}),
    ]


def redact(value, model: Path, work: Path):
    text = json.dumps(value).replace(str(model), "$TINY_MODEL").replace(str(work), "$WORK")
    return json.loads(text)


def main() -> None:
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        model = make_tiny_model(work / "tiny")
        engine = Engine()
        lines = [{"direction": "from_engine", "message": engine.ready}]
        for method, params in requests(model, work):
            engine.next_id += 1
            request = {"id": f"r{engine.next_id}", "method": method, "params": params}
            engine.send(request)
            lines.append({"direction": "to_engine", "message": request})
            while True:
                message = engine.read()
                lines.append({"direction": "from_engine", "message": message})
                if message.get("id") == request["id"] and message["type"] in ("result", "error"):
                    break
        engine.close()
        redacted = [redact(line, model, work) for line in lines]
    for line in redacted:  # volatile figures would make every re-recording a diff
        message = line["message"]
        if message.get("type") == "ready":
            message["pid"] = 12345
            message["threads"] = 2
    TRANSCRIPTS.mkdir(parents=True, exist_ok=True)
    target = TRANSCRIPTS / "session.jsonl"
    target.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in redacted))
    print(f"wrote {len(redacted)} lines to {target}")


if __name__ == "__main__":
    main()

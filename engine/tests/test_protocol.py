"""The engine protocol: the recorded transcript validates against the schema generated from the
TypeScript contracts, and a live engine answers the same requests the same way. Also cancel,
shutdown and end-of-input behaviour."""

from __future__ import annotations

import json
import os
import time

import pytest

from conftest import TRANSCRIPTS, Engine, sentiment_rows, train_config, write_jsonl
from reviewtune_engine.errors import EngineError
from reviewtune_engine.protocol import validate_message, validate_request

TRANSCRIPT = [json.loads(line) for line in (TRANSCRIPTS / "session.jsonl").read_text().splitlines()]


def test_transcript_validates_against_the_generated_schema():
    assert TRANSCRIPT[0]["message"]["type"] == "ready"
    for line in TRANSCRIPT:
        message = line["message"]
        if line["direction"] == "from_engine":
            validate_message(message)
        elif message["method"] in ("no_such_method",) or message["params"].get("max_new_tokens") == -1:
            with pytest.raises(EngineError):
                validate_request(message)
        else:
            validate_request(message)


def substitute(value, tiny_model, work):
    return json.loads(json.dumps(value).replace("$TINY_MODEL", str(tiny_model)).replace("$WORK", str(work)))


def shape(message: dict) -> tuple:
    if message["type"] == "event":
        return ("event", message["event"]["kind"])
    if message["type"] == "error":
        return ("error", message["error"]["code"])
    return (message["type"],)


def test_live_engine_replays_the_transcript(tmp_path, tiny_model):
    write_jsonl(tmp_path / "train.jsonl", sentiment_rows(8))  # the recorded train request reads these
    write_jsonl(tmp_path / "val.jsonl", sentiment_rows(4, offset=8))
    engine = Engine()
    assert engine.ready["protocol"] == TRANSCRIPT[0]["message"]["protocol"]
    expected: dict[str, list[dict]] = {}
    order: list[dict] = []
    for line in TRANSCRIPT[1:]:
        if line["direction"] == "to_engine":
            order.append(line["message"])
            expected[line["message"]["id"]] = []
        else:
            expected[order[-1]["id"]].append(line["message"])
    for request in order:
        live = substitute(request, tiny_model, tmp_path)
        if request["method"] == "train":
            # A set thread count: with the default, a machine busy with other work (the TypeScript
            # suite beside this one) adds status lines as the training gives cores back (cpu_share.py).
            live["params"]["config"]["training"]["threads"] = 1
        engine.send(live)
        got = []
        while True:
            message = engine.read()
            got.append(message)
            if message.get("id") == request["id"] and message["type"] in ("result", "error"):
                break
        want = substitute(expected[request["id"]], tiny_model, tmp_path)
        # Progress events depend on timing; everything else must match in kind and order.
        assert [shape(m) for m in got if shape(m) != ("event", "progress")] == [shape(m) for m in want if shape(m) != ("event", "progress")], request["method"]
        for message in got:
            validate_message(message)
        if request["method"] in ("ping", "tokenize", "cancel") or got[-1]["type"] == "error":
            assert got[-1] == want[-1], request["method"]
    assert engine.close() == 0


def test_cancel_stops_a_running_generation(tiny_model):
    engine = Engine()
    prompt = "<|im_start|>user\nWrite a long review.<|im_end|>\n<|im_start|>assistant\n"
    engine.send({"id": "g", "method": "generate", "params": {"model": {"source": str(tiny_model)}, "prompts": [prompt], "max_new_tokens": 5000, "stream": True}})
    while engine.read()["type"] != "event":
        pass
    engine.send({"id": "c", "method": "cancel", "params": {"target": "g"}})
    answers = {}
    while len(answers) < 2:
        message = engine.read()
        if message["type"] in ("result", "error"):
            answers[message["id"]] = message
    assert answers["c"]["result"] == {"cancelled": True}
    output = answers["g"]["result"]["outputs"][0]
    assert output["finish_reason"] == "cancelled" and output["new_tokens"] < 5000
    assert engine.close() == 0


def test_end_of_input_cancels_training_with_a_checkpoint(tmp_path, tiny_model):
    config = train_config(tiny_model, training={"epochs": 200, "batch_size": 4, "gradient_accumulation": 1}, evaluation={"strategy": "no"})
    engine = Engine()
    params = {"run_dir": str(tmp_path / "run"), "config": config, "train_file": write_jsonl(tmp_path / "t.jsonl", sentiment_rows(16)), "resume": False}
    engine.send({"id": "t", "method": "train", "params": params})
    while True:
        message = engine.read()
        if message["type"] == "event" and message["event"]["kind"] == "progress" and message["event"]["step"] >= 3:
            break
    engine.process.stdin.close()  # the client went away
    messages = []
    for line in engine.process.stdout:
        messages.append(json.loads(line))
    assert engine.process.wait(timeout=60) == 0
    result = messages[-1]
    assert result["type"] == "result" and result["result"]["status"] == "cancelled"
    assert any(m["type"] == "event" and m["event"]["kind"] == "checkpoint" for m in messages)
    assert not (tmp_path / "run" / "adapter").exists(), "a cancelled run must not look finished"


def test_shutdown_lets_queued_work_finish(tiny_model):
    engine = Engine()
    engine.send({"id": "a", "method": "tokenize", "params": {"model": {"source": str(tiny_model)}, "text": "hello"}})
    engine.send({"id": "s", "method": "shutdown", "params": {}})
    seen = {}
    started = time.time()
    while len(seen) < 2 and time.time() - started < 60:
        message = engine.read()
        seen[message["id"]] = message["type"]
    assert seen == {"s": "result", "a": "result"}
    assert engine.process.wait(timeout=30) == 0


def test_the_engine_stops_when_its_parent_dies_even_with_stdin_open(tmp_path):
    # The parent starts the engine on the stdin it was given (this test keeps it open), waits for it to
    # be ready, prints its pid and dies: no end of input comes, the engine must notice it was orphaned.
    import signal
    import subprocess
    import sys
    import time

    parent = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, sys; engine = subprocess.Popen([sys.executable, '-m', 'reviewtune_engine'], stdin=sys.stdin, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL); engine.stdout.readline(); print(engine.pid, flush=True)"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    engine_pid = int(parent.stdout.readline())
    parent.wait(timeout=30)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:  # gone, or a zombie nobody reaps (the orphan's new parent may not wait for it)
                if open(f"/proc/{engine_pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            except FileNotFoundError:
                break
            time.sleep(0.5)
        else:
            raise AssertionError("the orphaned engine is still running")
    finally:
        parent.stdin.close()
        try:
            os.kill(engine_pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_threads_are_bounded_by_the_cores_the_engine_may_use():
    # serve/studio --threads reach the engine as REVIEWTUNE_THREADS; more threads than the cores it
    # may run on only wait for each other (a busy machine made each answer many times slower).
    cores = len(os.sched_getaffinity(0))
    many = Engine(env={"REVIEWTUNE_THREADS": str(cores + 7)})
    one = Engine(env={"REVIEWTUNE_THREADS": "1"})
    try:
        assert many.ready["threads"] == cores
        assert one.ready["threads"] == 1
    finally:
        assert many.close() == 0
        assert one.close() == 0

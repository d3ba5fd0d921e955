"""`ept pretrain` killed with SIGKILL and resumed ends where an uninterrupted run ends, byte for byte."""
import json
import signal
import subprocess
import time

import pytest

from conftest import FIXTURES, ept_binary

ARGS = ["--corpus", str(FIXTURES / "corpus"), "--steps", "60", "--checkpoint-every", "5", "--atoms-per-batch", "120",
        "--hidden", "16", "--ffn", "32", "--heads", "2", "--layers", "2", "--radial", "8", "--dtype", "float64",
        "--threads", "1", "--validate-every", "20", "--seed", "4"]


def test_kill_and_resume_gives_the_uninterrupted_model(tmp_path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    subprocess.run([ept_binary(), "pretrain", "--out", str(straight)] + ARGS, check=True, capture_output=True)
    process = subprocess.Popen([ept_binary(), "pretrain", "--out", str(killed)] + ARGS,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    metrics = killed / "metrics.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline:
        if metrics.exists() and len(metrics.read_text().splitlines()) >= 23:
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (killed / "model.ept").exists(), "the run must have been killed before it finished"
    assert (killed / "checkpoint.ept").exists()
    subprocess.run([ept_binary(), "info", "--model", str(killed / "checkpoint.ept")], check=True, capture_output=True)
    subprocess.run([ept_binary(), "pretrain", "--out", str(killed), "--resume"] + ARGS, check=True,
                   capture_output=True)
    assert (killed / "model.ept").read_bytes() == (straight / "model.ept").read_bytes()
    steps = [json.loads(line)["step"] for line in (killed / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 61))


def test_bad_corpus_and_options_are_named(tmp_path):
    result = subprocess.run([ept_binary(), "pretrain", "--corpus", str(tmp_path), "--out", str(tmp_path / "run")],
                            capture_output=True, text=True)
    assert result.returncode != 0 and "no manifest.json" in result.stderr
    result = subprocess.run([ept_binary(), "pretrain", "--corpus", str(FIXTURES / "corpus"), "--out",
                             str(tmp_path / "run"), "--objective", "spin"], capture_output=True, text=True)
    assert result.returncode != 0 and "unknown objective 'spin'" in result.stderr

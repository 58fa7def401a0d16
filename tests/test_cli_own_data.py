"""`python -m engine run --data FILE.csv`: a labelled CSV becomes a task (csv-<hash>), runs end to end with the
classic baseline, and a bad file exits 2 with a message naming the fix, storing nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "RIGHTSIZE_HOME": str(home), "RIGHTSIZE_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def write_csv(path: Path) -> Path:
    rows = ["message;kind"] + [f"my parcel {i} arrived broken;complaint" for i in range(20)] + \
           [f"thanks for the quick delivery {i};praise" for i in range(20)] + \
           [f"where is order number {i};question" for i in range(20)] + [";praise", "thanks for the quick delivery 1;praise"]
    path.write_text("\n".join(rows), encoding="utf-8")
    return path


def test_own_csv_runs_as_a_task_and_reruns_the_same_data(tmp_path):
    data = write_csv(tmp_path / "shop.csv")
    done = cli(tmp_path, "run", "--data", str(data), "--label-column", "kind", "--models", "tfidf",
               "--techniques", "fp32,int8-dynamic",
               "--eval-size", "20", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "1 empty" in done.stderr and "1 duplicate" in done.stderr  # the cleaning is reported
    fp32, int8 = json.loads(done.stdout)
    assert fp32["task"].startswith("csv-") and fp32["metric"] == "macro-f1" and fp32["status"] == "ok"
    assert 0.5 < fp32["quality"] <= 1.0 and fp32["quality_extras"]["confusion"]["labels"] == \
        ["complaint", "praise", "question"]
    assert int8["status"] == "skipped"
    again = cli(tmp_path, "run", "--task", fp32["task"], "--models", "tfidf", "--eval-size", "20", "--json")
    assert again.returncode == 0 and json.loads(again.stdout)[0]["quality"] == fp32["quality"]
    listed = json.loads(cli(tmp_path, "tasks", "--json").stdout)
    assert any(t["id"] == fp32["task"] and t["metric"] == "macro-f1" for t in listed)


def test_a_bad_csv_exits_2_naming_the_fix_and_stores_nothing(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes("texte,étiquette\ncafé crème,bon\n".encode("latin-1"))
    done = cli(tmp_path, "run", "--data", str(bad), "--models", "tfidf")
    assert done.returncode == 2 and "UTF-8" in done.stderr
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())
    missing = cli(tmp_path, "run", "--data", str(tmp_path / "nope.csv"), "--models", "tfidf")
    assert missing.returncode == 2 and "no such file" in missing.stderr

"""Storage faults lose nothing and say what to do: a read-only file or folder reads and refuses writes, a damaged
file is left byte for byte and `doctor --salvage` saves every readable trial, a zero-length file warns, a full
disk keeps the measured record and the job's end, a killed job's process is found dead on the next start.

Read-only is the real thing: chmod for a normal user; as root (chmod does not stop root) a read-only bind
mount, which needs CAP_SYS_ADMIN, else the test is skipped. The full disk is a small tmpfs where it can be
mounted, and SQLite's own error raised from the connection everywhere."""

from __future__ import annotations

import gc
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import ROOT, make_record, seed_run
from streamlit.testing.v1 import AppTest

import engine.store.trials as store_module
from engine import cli, journal
from engine.execute import run_job
from engine.requests import RunRequest
from engine.spawn import pid_alive
from engine.store import Store, StoreCorruptError, StoreFullError, StoreReadOnlyError

MAIN = str(ROOT / "app" / "main.py")
HISTORY = str(ROOT / "pages" / "history.py")
RUN = str(ROOT / "pages" / "run.py")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def populate(path: Path, runs: int = 6) -> Store:
    """A store with `runs` finished runs of 3 x 2 trials, each trial's started_at unique (to find its page)."""
    store = Store(path)
    for run in range(runs):
        seed_run(store, ("minilm-l3", "minilm-l6", "mpnet-base"), ("fp32", "int8-dynamic"),
                 started_at=f"2025-06-02T10:{run:02d}:00+00:00")
    for n, row in enumerate(store.trial_rows()):  # a marker per trial, inside its record's text
        with sqlite3.connect(path) as conn:
            record = row.record
            record.error = f"marker-{n:04d}-" + "x" * 40 if record.status == "ok" else record.error
            conn.execute("UPDATE trials SET record = ? WHERE id = ?", (record.to_json(), row.id))
    return store


def can_mount() -> bool:
    return os.geteuid() == 0 and subprocess.run(["mount", "--version"], capture_output=True).returncode == 0


@contextmanager
def read_only(target: Path):
    """Make a file or folder read-only for this process for real; skip where that is impossible."""
    if os.geteuid() != 0:
        mode = target.stat().st_mode
        target.chmod(0o555 if target.is_dir() else 0o444)
        try:
            yield
        finally:
            target.chmod(mode)
        return
    if not can_mount():
        pytest.skip("running as root without mount: chmod cannot make anything read-only for root")
    bind = subprocess.run(["mount", "--bind", str(target), str(target)], capture_output=True, text=True)
    if bind.returncode:
        pytest.skip(f"running as root and a read-only bind mount is not allowed here: {bind.stderr.strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], check=True)
        yield
    finally:
        gc.collect()  # a connection the test dropped still holds the mount
        if subprocess.run(["umount", str(target)], capture_output=True).returncode:
            subprocess.run(["umount", "-l", str(target)], check=True)


# ---------------------------------------------------------------------------------------------- read-only


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_read_only_store_reads_and_refuses_writes_with_the_fix(tmp_path, what):
    path = tmp_path / "store" / "db.sqlite"
    path.parent.mkdir()
    before = populate(path).trial_rows()
    with read_only(path if what == "file" else path.parent):
        store = Store(path)
        assert store.read_only and "not writable" in store.health.reason
        assert store.trial_rows() == before  # every record readable
        assert len(store.jobs()) == 6
        with pytest.raises(StoreReadOnlyError, match="read-only") as refused:
            store.submit("sentiment", {})
        assert str(path) in str(refused.value) and "chmod" in str(refused.value)
        with pytest.raises(StoreReadOnlyError):
            store.delete_trial(before[0].id)
        assert Store(path).trial_rows() == before
    assert Store(path).trial_rows() == before  # writable again: nothing was lost


def test_a_read_only_store_shows_a_dead_job_failed_without_saving_it(tmp_path):
    path = tmp_path / "db.sqlite"
    store = Store(path)
    job_id = store.submit("sentiment", {})
    store.claim_next(worker_pid=999_999_999)  # no such process
    with read_only(path):
        ro = Store(path)
        assert ro.fail_orphans(pid_alive) == [job_id]  # found, not written (it cannot be)
        assert ro.job(job_id).status == "failed" and "died" in ro.job(job_id).error
    assert Store(path).job(job_id).status == "running"  # the file was not written while read-only


def test_the_cli_reads_a_read_only_store_and_refuses_a_run(tmp_path, monkeypatch, capsys):
    path = tmp_path / "db.sqlite"
    monkeypatch.setenv("RIGHTSIZE_DB", str(path))
    n = len(populate(path).trials())
    with read_only(path):
        assert cli.main(["export", "--format", "json"]) == 0
        assert len(json.loads(capsys.readouterr().out)) == n
        assert cli.main(["whatif", "--task", "sentiment", "--json"]) == 0
        capsys.readouterr()
        assert cli.main(["run", "--task", "sentiment", "--models", "vader"]) == 2
        err = capsys.readouterr().err
        assert "read-only" in err and str(path) in err and "Traceback" not in err


def test_the_dashboard_shows_a_read_only_banner_and_a_delete_is_refused(store, seeded):
    victim = store.trial_rows()[0]
    with read_only(store.path):
        at = AppTest.from_file(MAIN, default_timeout=60).run()
        assert not at.exception
        assert any("Read-only store" in i.value for i in at.info)
        page = AppTest.from_file(HISTORY, default_timeout=60).run()
        page.selectbox(key="history_delete_trial").set_value(victim.id).run()
        page.checkbox(key=f"history_sure_trial_{victim.id}").check().run()
        page.button(key="history_delete_trial_go").click().run()
        assert not page.exception
        assert "read-only" in page.error[0].value
        run = AppTest.from_file(RUN, default_timeout=60).run()
        run.button(key="run_submit").click().run()
        assert not run.exception and "read-only" in run.error[0].value
    assert victim.id in [r.id for r in store.trial_rows()] and store.jobs() == Store(store.path).jobs()


# ---------------------------------------------------------------------------------------------- damaged


def damage_page_of(path: Path, marker: bytes) -> int:
    """Overwrite the whole page holding `marker` with garbage; returns the page number (1-based)."""
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    at = data.index(marker)
    page = at // page_size
    data[page * page_size:(page + 1) * page_size] = b"\xde\xad\xbe\xef" * (page_size // 4)
    path.write_bytes(bytes(data))
    return page + 1


def checkpointed(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def test_a_damaged_store_is_refused_untouched_and_doctor_salvages_the_rest(tmp_path, monkeypatch, capsys):
    path = tmp_path / "db.sqlite"
    originals = {row.id: row.record for row in populate(path).trial_rows()}
    checkpointed(path)
    victim = next(i for i, r in originals.items() if r.error.startswith("marker-0010"))
    damage_page_of(path, b"marker-0010")
    damaged = digest(path)

    with pytest.raises(StoreCorruptError) as refused:
        Store(path)
    assert str(path) in str(refused.value) and "python -m engine doctor" in str(refused.value)
    monkeypatch.setenv("RIGHTSIZE_DB", str(path))
    assert cli.main(["export"]) == 2
    assert "doctor" in capsys.readouterr().err
    assert cli.main(["doctor"]) == 1
    assert "damaged" in capsys.readouterr().out

    out = tmp_path / "saved.sqlite"
    assert cli.main(["doctor", "--salvage", str(out), "--json"]) == 1  # the original is still damaged
    report = json.loads(capsys.readouterr().out)["salvage"]
    assert digest(path) == damaged  # byte for byte
    trials = report["tables"]["trials"]
    assert victim in trials["unreadable"] + trials["damaged"]
    saved = {row.id: row.record for row in Store(out).trial_rows()}
    assert trials["kept"] == len(saved) >= len(originals) - 3  # one page lost, not the file
    assert all(saved[i] == originals[i] for i in saved)  # what is kept is kept exactly
    lost = set(originals) - set(saved)
    assert lost <= set(trials["unreadable"]) | set(trials["damaged"])  # and every loss is reported
    assert report["verified"] == "ok"
    assert cli.main(["doctor", "--db", str(out)]) == 0
    assert cli.main(["doctor", "--salvage", str(out)]) == 2  # it will not overwrite a file


def test_a_damaged_header_is_repaired_in_the_copy_and_everything_is_saved(tmp_path):
    from engine.doctor import salvage

    path = tmp_path / "db.sqlite"
    originals = populate(path).trial_rows()
    checkpointed(path)
    with open(path, "r+b") as f:
        f.write(b"garbage garbage!")
    damaged = digest(path)
    with pytest.raises(StoreCorruptError, match="not a database"):
        Store(path)
    report = salvage(path, tmp_path / "saved.sqlite")
    assert digest(path) == damaged
    assert any("signature" in note for note in report.notes)
    assert Store(tmp_path / "saved.sqlite").trial_rows() == originals


def test_the_dashboard_names_the_doctor_for_a_damaged_store(store, seeded):
    checkpointed(store.path)
    damage_page_of(store.path, b"minilm-l6")
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    assert not at.exception
    assert "python -m engine doctor" in at.error[0].value


def test_a_damaged_record_met_mid_page_ends_the_page_with_the_doctor(store, seeded):
    """Bytes damaged inside a record's text leave SQLite's structure sound (quick_check passes): the page that
    reads it stops with the message, and doctor leaves that one row out and keeps the rest."""
    from engine.doctor import salvage

    total = len(store.trials())
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE trials SET record = substr(record, 1, 200) WHERE id = 3")
    conn.close()
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    assert not at.exception
    assert "trial #3" in at.error[0].value and "python -m engine doctor" in at.error[0].value
    report = salvage(store.path, store.path.with_name("saved.sqlite"))
    assert report.tables["trials"].damaged == [3] and report.tables["trials"].kept == total - 1


# ---------------------------------------------------------------------------------------------- zero-length


def test_a_zero_length_store_is_a_warning_not_silence(tmp_path, caplog):
    path = tmp_path / "db.sqlite"
    path.touch()
    store = Store(path)
    assert any("0 bytes" in w and "backup" in w for w in store.warnings)
    assert "0 bytes" in caplog.text
    store.add_trial(make_record("minilm-l3", "fp32"))  # it works as a new store
    assert any("0 bytes" in w for w in Store(path).warnings)  # and keeps saying so in this process


def test_a_zero_length_read_only_store_reads_as_empty(tmp_path):
    path = tmp_path / "empty.sqlite"
    path.touch()
    with read_only(path):
        store = Store(path)
        assert store.read_only and store.warnings
        assert store.trials() == [] and store.jobs() == []
    assert path.stat().st_size == 0


# ---------------------------------------------------------------------------------------------- full disk


@pytest.fixture
def quick_retries(monkeypatch):
    monkeypatch.setattr(store_module, "RETRY_DELAYS_S", (0.01, 0.01, 0.01))


def full_for(monkeypatch, times: int | None) -> list[int]:
    """Trial inserts fail with SQLite's own error `times` times (None: until undone). Returns the call log."""
    calls: list[int] = []
    real = Store._insert_trial

    def insert(conn, record, dedupe=False):
        calls.append(1)
        if times is None or len(calls) <= times:
            raise sqlite3.OperationalError("database or disk is full")
        return real(conn, record, dedupe)

    monkeypatch.setattr(Store, "_insert_trial", staticmethod(insert))
    return calls


def test_space_back_within_the_retries_stores_the_record_once(tmp_path, monkeypatch, quick_retries):
    store = Store(tmp_path / "db.sqlite")
    full_for(monkeypatch, times=2)
    record = make_record("minilm-l3", "fp32")
    store.add_trial(record)
    assert store.trials() == [record]
    assert journal.entries(store.path) == []


def test_a_disk_that_stays_full_keeps_the_record_and_the_jobs_end(tmp_path, monkeypatch, quick_retries):
    """run_job on a full disk: the measured record waits beside the store, the job's end too; once space is
    back the next open writes both: the record once, the job failed with the reason."""
    path = tmp_path / "db.sqlite"
    store = Store(path)
    job_id = store.start_job("sentiment", {}, worker_pid=os.getpid())
    record = make_record("minilm-l3", "fp32", job_id=job_id)
    with monkeypatch.context() as disk_full:
        disk_full.setattr("engine.execute.run_request", lambda *a, **k: iter([record]))
        full_for(disk_full, times=None)

        def finish(self, job_id, error=""):  # the job's own end cannot be written either
            raise StoreFullError("database or disk is full")

        disk_full.setattr(Store, "finish", finish)
        with pytest.raises(StoreFullError, match="kept in") as full:
            run_job(store, job_id, RunRequest("sentiment", ("minilm-l3",), ("fp32",)))
        assert str(journal.pending_dir(path)) in str(full.value)
        assert [e["op"] for _, e in journal.entries(path)] == ["trial", "finish"]
    # space is back
    again = Store(path)
    assert again.trials() == [record]
    job = again.job(job_id)
    assert job.status == "failed" and "full" in job.error and "kept in" in job.error
    assert journal.entries(path) == []
    assert Store(path).trials() == [record]  # replayed once only


def test_pending_results_wait_while_the_store_is_read_only(tmp_path):
    path = tmp_path / "db.sqlite"
    store = Store(path)
    journal.keep(path, {"op": "trial", "job_id": None, "record": make_record("minilm-l3", "fp32").to_dict()})
    with read_only(path):
        assert any("wait in" in w for w in Store(path).warnings)
    assert len(Store(path).trials()) == 1 == len(store.trials())


@pytest.mark.skipif(not can_mount(), reason="mounting a small tmpfs needs root with CAP_SYS_ADMIN")
def test_a_real_full_disk_keeps_the_record_until_space_returns(tmp_path, monkeypatch):
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(disk)], check=True)
    try:
        path = disk / "db.sqlite"
        store = Store(path)
        job_id = seed_run(store, ("minilm-l3",), ("fp32",), status="running")
        filler = disk / "filler"
        with pytest.raises(OSError), open(filler, "wb") as f:
            while True:
                f.write(b"x" * 4096)
                f.flush()
        monkeypatch.setattr(store_module, "RETRY_DELAYS_S", (0.3,) * 10)
        threading.Timer(1.0, filler.unlink).start()  # space comes back a second later
        record = make_record("minilm-l6", "fp32", job_id=job_id)
        store.add_trial(record)
        assert [r.model for r in store.trials(job_ids=[job_id])] == ["minilm-l3", "minilm-l6"]
        assert journal.entries(path) == []
    finally:
        subprocess.run(["umount", str(disk)], check=True)


# ---------------------------------------------------------------------------------------------- dead jobs


def test_a_killed_cli_job_fails_on_the_next_start_and_keeps_its_trials(tmp_path, monkeypatch):
    """kill -9 of a process running a job from the CLI (start_job owns it with its pid): the dashboard's next
    page (its storage banner sweeps) marks it failed, and the trial it had stored stays."""
    path = tmp_path / "db.sqlite"
    Store(path)
    script = ("import sys, time; sys.path[:0] = [sys.argv[2], sys.argv[3]]\n"
              "from conftest import make_record\nfrom engine.store import Store\nimport os\n"
              "s = Store(sys.argv[1]); j = s.start_job('sentiment', {}, os.getpid())\n"
              "s.add_trial(make_record('minilm-l3', 'fp32', job_id=j)); print(j, flush=True); time.sleep(60)\n")
    child = subprocess.Popen([sys.executable, "-c", script, str(path), str(ROOT), str(ROOT / "tests")],
                             stdout=subprocess.PIPE, text=True)
    job_id = int(child.stdout.readline())
    assert Store(path).job(job_id).status == "running"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    monkeypatch.setenv("RIGHTSIZE_DB", str(path))
    monkeypatch.setenv("RIGHTSIZE_NO_WORKER", "1")
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    assert not at.exception
    job = Store(path).job(job_id)
    assert job.status == "failed" and f"pid {child.pid}" in job.error and "died" in job.error
    assert len(Store(path).trials(job_ids=[job_id])) == 1


def test_a_reused_pid_does_not_keep_a_dead_job_running(tmp_path):
    """After a restart the job's old pid may belong to another, younger process: that one did not run it."""
    store = Store(tmp_path / "db.sqlite")
    job_id = store.start_job("sentiment", {}, worker_pid=os.getpid())
    with sqlite3.connect(store.path) as conn:  # the job started long before this process did
        conn.execute("UPDATE jobs SET started_at = '2020-01-01T00:00:00+00:00' WHERE id = ?", (job_id,))
    assert store.fail_orphans(pid_alive) == [job_id]
    assert store.job(job_id).status == "failed"
    fresh = store.start_job("sentiment", {}, worker_pid=os.getpid())
    time.sleep(0.01)
    assert store.fail_orphans(pid_alive) == [] and store.job(fresh).status == "running"

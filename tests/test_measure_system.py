"""Hardware and version facts, peak memory and timestamps."""

import json
import platform
import socket
import subprocess
import sys
import textwrap
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from engine.measure import system
from engine.measure.system import NOT_INSTALLED, hardware, peak_rss_mb, utc_now_iso, versions

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_hardware_shape_and_sane_values():
    h = hardware()
    assert set(h) == {"cpu_model", "hostname", "cpu_features", "physical_cores", "logical_cores", "memory_gb", "os",
                      "machine", "torch_threads", "accelerator"}
    assert isinstance(h["cpu_model"], str) and h["cpu_model"]
    assert h["hostname"] == socket.gethostname()  # which node measured it, not only which CPU model
    assert isinstance(h["physical_cores"], int) and isinstance(h["logical_cores"], int)
    assert 1 <= h["physical_cores"] <= h["logical_cores"]
    assert isinstance(h["memory_gb"], float) and 0.1 < h["memory_gb"] < 100_000
    assert h["os"] == platform.platform() and h["machine"] == platform.machine()
    assert isinstance(h["accelerator"], str)
    assert set(h["cpu_features"]) <= set(system.SPEED_FEATURES)


def test_hardware_and_versions_never_import_heavy_packages():
    out = _run("""
        import json, sys
        from engine.measure.system import hardware, versions
        h, v = hardware(), versions()
        print(json.dumps({"h": h, "loaded": sorted({'torch', 'codecarbon', 'transformers'} & set(sys.modules))}))
    """)
    assert out["loaded"] == []
    assert out["h"]["torch_threads"] is None and out["h"]["accelerator"] == "none"


def test_torch_state_is_read_when_the_caller_already_imported_it(monkeypatch):
    # A stand-in module: importing real torch costs seconds and is not what is under test.
    cuda = types.SimpleNamespace(is_available=lambda: True, get_device_name=lambda i: "Fake GPU 80GB")
    fake = types.SimpleNamespace(get_num_threads=lambda: 7, cuda=cuda)
    monkeypatch.setitem(sys.modules, "torch", fake)
    h = hardware()
    assert h["torch_threads"] == 7 and h["accelerator"] == "Fake GPU 80GB"
    cuda.is_available = lambda: False
    assert hardware()["accelerator"] == "none"


def test_versions_from_metadata(monkeypatch):
    v = versions()
    assert v["python"] == platform.python_version()
    assert v["numpy"] == np.__version__
    assert set(system.PACKAGES) <= set(v) and all(isinstance(x, str) and x for x in v.values())
    monkeypatch.setattr(system, "PACKAGES", ("numpy", "surely-not-installed-pkg"))
    assert versions()["surely-not-installed-pkg"] == NOT_INSTALLED


def test_the_code_version_changes_with_the_engine_source(tmp_path, monkeypatch):
    assert len(system.code_version()) == 12 and versions()["rightsize_code"] == system.code_version()
    fake = tmp_path / "engine" / "measure"
    fake.mkdir(parents=True)
    (tmp_path / "engine" / "a.py").write_text("x = 1\n")
    monkeypatch.setattr(system, "__file__", str(fake / "system.py"))
    system.code_version.cache_clear()
    first = system.code_version()
    (tmp_path / "engine" / "a.py").write_text("x = 2\n")
    system.code_version.cache_clear()
    assert system.code_version() != first
    monkeypatch.undo()
    system.code_version.cache_clear()


def test_peak_rss_grows_after_touching_200_mb():
    # A fresh process: in this one an earlier test may already have set a higher peak. It is spawned by this
    # large pytest process on purpose: the child's peak must be its own, not inherited through exec.
    out = _run("""
        import json, numpy as np, psutil
        from engine.measure.system import peak_rss_mb
        before, rss_before = peak_rss_mb(), psutil.Process().memory_info().rss / 1e6
        block = np.ones(200_000_000 // 8)  # written, so every page is resident
        print(json.dumps({"before": before, "rss_before": rss_before, "after": peak_rss_mb(),
                          "rss": psutil.Process().memory_info().rss / 1e6, "sum": float(block.sum())}))
    """)
    assert out["before"] < 300  # its own start-up (python, numpy, psutil), not the parent pytest's peak
    assert out["after"] > out["before"]
    assert out["after"] >= out["rss_before"] + 190  # the whole array shows in the peak
    assert out["after"] >= out["rss"] * 0.99  # the peak is at least the current resident size


def test_peak_rss_in_this_process_is_plausible():
    assert 10 < peak_rss_mb() < 1_000_000


def test_utc_now_iso():
    stamp = utc_now_iso()
    parsed = datetime.fromisoformat(stamp)
    assert parsed.utcoffset() == timedelta(0) and stamp.endswith("+00:00")
    assert abs(datetime.now(UTC) - parsed) < timedelta(seconds=5)

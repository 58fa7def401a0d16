"""What machine and software a measurement ran on. Imports no heavy package (torch only if already loaded)."""

from __future__ import annotations

import functools
import hashlib
import platform
import resource
import socket
import sys
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import psutil

PACKAGES = ("torch", "transformers", "onnxruntime", "openvino", "nncf", "codecarbon", "scikit-learn", "numpy",
            "rightsize")
NOT_INSTALLED = "not installed"


def hardware() -> dict[str, object]:
    logical = psutil.cpu_count(logical=True) or 1
    torch = sys.modules.get("torch")  # read torch's state only if the caller already loaded it
    return {
        "cpu_model": _cpu_model(),
        "hostname": socket.gethostname(),
        "cpu_features": _cpu_features(),
        "physical_cores": psutil.cpu_count(logical=False) or logical,
        "logical_cores": logical,
        "memory_gb": round(psutil.virtual_memory().total / 1e9, 2),
        "os": platform.platform(),
        "machine": platform.machine(),
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "accelerator": _accelerator(torch),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# Instruction sets that decide whether int8 and bf16 are fast on a CPU (without AVX512_BF16/AMX, bf16 is emulated;
# avx_vnni is the 256-bit int8 dot product of CPUs without AVX-512 VNNI).
SPEED_FEATURES = ("avx2", "avx512f", "avx_vnni", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def _cpu_features() -> list[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                return [f for f in SPEED_FEATURES if f in flags]
    except OSError:
        pass
    return []


def _accelerator(torch: object | None) -> str:
    if torch is None:
        return "none"
    try:
        if torch.cuda.is_available():  # type: ignore[attr-defined]
            return str(torch.cuda.get_device_name(0))  # type: ignore[attr-defined]
    except Exception:  # a broken CUDA setup is reported as "none", not as a crash of the trial
        pass
    return "none"


def versions() -> dict[str, str]:
    """Installed versions from package metadata (nothing is imported)."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = NOT_INSTALLED
    out["rightsize_code"] = code_version()
    return out


@functools.cache
def code_version() -> str:
    """A fingerprint of the engine's source (sha256 of every engine/**/*.py, 12 hex digits): two records with
    the same one were measured by the same code, whatever the package version says."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def peak_rss_mb() -> float:
    """Peak resident set size of THIS process image since it started, in MB (10^6 bytes).

    It is a high-water mark: it never goes down, so measure a variant in a fresh process to attribute it.
    On Linux it is VmHWM, the peak of this program's own memory. Not ru_maxrss: Linux carries that across
    exec, so a child spawned by a large process (the Streamlit server, pytest) would report its parent's peak.
    Elsewhere ru_maxrss (KiB on Linux, bytes on macOS) is the fallback.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6  # reported in kB (KiB)
    except OSError:
        pass
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_bytes = max_rss if sys.platform == "darwin" else max_rss * 1024
    return rss_bytes / 1e6


def utc_now_iso() -> str:
    """Current time, ISO 8601 in UTC to the second, e.g. 2025-06-02T10:15:00+00:00."""
    return datetime.now(UTC).isoformat(timespec="seconds")

"""Settings read from the environment, with embedded defaults (SQLite file, offline pack, one cache folder).

Every setting is an environment variable so the dashboard, the worker it spawns and the CLI agree without
passing flags around:

- RIGHTSIZE_HOME      root for everything the app writes (default: <repo>/.rightsize)
- RIGHTSIZE_DB        SQLite file with jobs and trial records (default: $RIGHTSIZE_HOME/rightsize.sqlite)
- RIGHTSIZE_CACHE     converted weights, trained heads, embeddings (default: $RIGHTSIZE_HOME/cache)
- RIGHTSIZE_REGION    default grid region, ISO 3166 alpha-3 or USA-<state> such as USA-CA (default: USA)
- RIGHTSIZE_OFFLINE   "1" (default) never touches a model hub; "0" lets hub ids load online
- RIGHTSIZE_THREADS   torch threads used by a trial (default: all cores)
- RIGHTSIZE_LOCK_DIR  folder of the machine-wide measurement lock (default: the system temp folder)
- RIGHTSIZE_NO_WORKER "1" queues jobs without starting a worker (page tests; or run `python -m engine worker`)
- RIGHTSIZE_REFERENCE_DIR  reference snapshots shown before any live run, <task>.json (default: <repo>/assets/reference)

The dashboard alone reads two more (app/access.py; the engine has no notion of users): RIGHTSIZE_ACCESS_CODE
(set: workshop mode, everyone signs in) and RIGHTSIZE_FACILITATOR_CODE (also deletes runs and trials).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Settings:
    home: Path
    db_path: Path
    cache_dir: Path
    default_region: str
    offline: bool
    threads: int
    autostart_worker: bool
    reference_dir: Path


def settings() -> Settings:
    """Read settings afresh (tests change the environment between cases)."""
    home = Path(os.environ.get("RIGHTSIZE_HOME", REPO_ROOT / ".rightsize"))
    return Settings(
        home=home,
        db_path=Path(os.environ.get("RIGHTSIZE_DB", home / "rightsize.sqlite")),
        cache_dir=Path(os.environ.get("RIGHTSIZE_CACHE", home / "cache")),
        default_region=os.environ.get("RIGHTSIZE_REGION", "USA").upper(),
        offline=os.environ.get("RIGHTSIZE_OFFLINE", "1") != "0",
        threads=int(os.environ.get("RIGHTSIZE_THREADS", "0")) or (os.cpu_count() or 1),
        autostart_worker=not os.environ.get("RIGHTSIZE_NO_WORKER"),
        reference_dir=Path(os.environ.get("RIGHTSIZE_REFERENCE_DIR", REPO_ROOT / "assets" / "reference")),
    )


def apply_offline_env() -> None:
    """Make hub libraries fail fast instead of trying the network when offline."""
    if settings().offline:
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
            os.environ[var] = "1"
        os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

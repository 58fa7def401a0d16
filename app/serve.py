"""Start the dashboard with the settings of streamlit_config.toml applied as command-line flags.

`python -m app.serve [streamlit flags]`: flags given here come after the file's and win.
RIGHTSIZE_STREAMLIT_CONFIG points at another settings file (tests use it).
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
ENTRY = REPO_ROOT / "app" / "main.py"


def config_path() -> Path:
    return Path(os.environ.get("RIGHTSIZE_STREAMLIT_CONFIG", REPO_ROOT / "streamlit_config.toml"))


def flags_from_config(path: Path) -> list[str]:
    """{"server": {"port": 8501}} -> ["--server.port=8501"]; booleans as true/false."""
    with open(path, "rb") as f:
        config = tomllib.load(f)
    flags = []
    for section, options in config.items():
        for key, value in options.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            flags.append(f"--{section}.{key}={text}")
    return flags


def command(extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(ENTRY), *flags_from_config(config_path()), *extra]


def main() -> None:
    os.chdir(REPO_ROOT)
    cmd = command(sys.argv[1:])
    print("Starting Rightsize:", " ".join(cmd[2:]), file=sys.stderr, flush=True)
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main()

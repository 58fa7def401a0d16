import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from app.serve import command, flags_from_config

REPO = Path(__file__).resolve().parents[1]


def test_every_setting_of_the_config_file_becomes_a_flag():
    flags = flags_from_config(REPO / "streamlit_config.toml")
    assert "--server.headless=true" in flags
    assert "--browser.gatherUsageStats=false" in flags
    assert any(f.startswith("--theme.primaryColor=") for f in flags)


def test_flags_given_on_the_command_line_come_last():
    cmd = command(["--server.port=9999"])
    assert cmd[-1] == "--server.port=9999" and cmd.index("--server.port=8501") < len(cmd) - 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_config_file_really_takes_effect(tmp_path):
    """Start the server the README way with a settings file whose only port is a fresh one: it must listen there."""
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(f'[server]\nport = {port}\nheadless = true\n[browser]\ngatherUsageStats = false\n')
    env = {**__import__("os").environ, "RIGHTSIZE_STREAMLIT_CONFIG": str(config), "RIGHTSIZE_HOME": str(tmp_path)}
    server = subprocess.Popen([sys.executable, "-m", "app.serve"], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as reply:
                    assert reply.read() == b"ok"
                    return
            except OSError:
                time.sleep(0.5)
        raise AssertionError(f"the server did not listen on the configured port {port}")
    finally:
        server.terminate()
        server.wait(timeout=20)

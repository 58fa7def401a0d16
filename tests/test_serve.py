"""The launcher: the settings file as flags, localhost by default, workshop mode's address and codes, and the
refusal to listen on the network without an access code (however the address is given)."""

import base64
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from app import access
from app.serve import ServeError, command, flag_value, flag_values, flags_from_config, is_loopback, plan

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
    config.write_text(f'[server]\naddress = "localhost"\nport = {port}\nheadless = true\n'
                      '[browser]\ngatherUsageStats = false\n')
    env = {**os.environ, "RIGHTSIZE_STREAMLIT_CONFIG": str(config), "RIGHTSIZE_HOME": str(tmp_path)}
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


def test_no_full_garbage_collection_after_every_rerun():
    # on by default in Streamlit: half the server's CPU under 30 sessions (docs/reliability.md, "Load")
    assert flag_value(flags_from_config(REPO / "streamlit_config.toml"), "--runner.postScriptGC") == "false"


# ------------------------------------------------------------------ safe by default


def test_the_config_file_binds_to_localhost_with_streamlit_protections_on():
    flags = flags_from_config(REPO / "streamlit_config.toml")
    assert flag_value(flags, "--server.address") == "localhost"
    assert flag_value(flags, "--server.enableXsrfProtection") == "true"
    assert flag_value(flags, "--server.enableCORS") == "true"
    assert flag_values(flags, "--server.allowedHosts") == ["localhost", "127.0.0.1", "::1"]  # a list: one flag each


def test_a_plain_start_stays_on_localhost_without_codes():
    launch = plan([], {})
    assert flag_value(launch.cmd, "--server.address") == "localhost"
    assert access.ACCESS_VAR not in launch.env and access.FACILITATOR_VAR not in launch.env
    assert launch.banner == []


@pytest.mark.parametrize("loopback", ["localhost", "127.0.0.1", "127.0.0.2", "::1", "[::1]"])
def test_loopback_addresses(loopback):
    assert is_loopback(loopback)


@pytest.mark.parametrize("network", [None, "", "0.0.0.0", "::", "192.168.1.20", "mylaptop.local"])
def test_network_addresses(network):
    assert not is_loopback(network)


def test_workshop_listens_everywhere_and_makes_two_different_codes():
    launch = plan(["--workshop", "--server.port=8600"], {})
    assert "--workshop" not in launch.cmd  # Streamlit would reject it
    assert flag_value(launch.cmd, "--server.address") == "0.0.0.0"
    assert flag_values(launch.cmd, "--server.allowedHosts")[-1] == "*"  # attendees type this machine's address
    code, facilitator = launch.env[access.ACCESS_VAR], launch.env[access.FACILITATOR_VAR]
    assert len(access.normalize(code)) == 8 and len(access.normalize(facilitator)) == 16
    assert access.normalize(code) != access.normalize(facilitator)
    text = "\n".join(launch.banner)
    assert code in text and facilitator in text and ":8600/" in text
    assert code not in " ".join(launch.cmd)  # the codes travel in the environment, not the visible command line
    again = plan(["--workshop"], {})
    assert again.env[access.ACCESS_VAR] != code  # a fresh code per start


def test_workshop_uses_the_codes_you_set_and_does_not_print_them():
    env = {access.ACCESS_VAR: "orchid-42", access.FACILITATOR_VAR: "long-facilitator-secret"}
    launch = plan(["--workshop"], env)
    assert launch.env[access.ACCESS_VAR] == "orchid-42"
    assert launch.env[access.FACILITATOR_VAR] == "long-facilitator-secret"
    text = "\n".join(launch.banner)
    assert "orchid-42" not in text and "long-facilitator-secret" not in text and "not printed" in text


def test_a_flag_after_workshop_picks_the_interface():
    launch = plan(["--workshop", "--server.address", "192.168.1.20"], {})
    assert flag_value(launch.cmd, "--server.address") == "192.168.1.20"
    assert "http://192.168.1.20:8501/" in "\n".join(launch.banner)


@pytest.mark.parametrize("args", [["--server.address=0.0.0.0"], ["--server.address", "0.0.0.0"],
                                  ["--server.address=192.168.1.20"], ["--server.address="]])
def test_a_network_address_without_an_access_code_is_refused(args):
    with pytest.raises(ServeError, match="without an access code.*--workshop"):
        plan(args, {})


def test_a_settings_file_without_an_address_is_refused(tmp_path, monkeypatch):
    """No address means every interface to Streamlit; the environment's address counts when no flag is given."""
    config = tmp_path / "config.toml"
    config.write_text("[server]\nheadless = true\n")
    monkeypatch.setenv("RIGHTSIZE_STREAMLIT_CONFIG", str(config))
    with pytest.raises(ServeError, match="every network interface"):
        plan([], {})
    assert flag_value(plan([], {"STREAMLIT_SERVER_ADDRESS": "127.0.0.1"}).cmd, "--server.allowedHosts") == "127.0.0.1"


def test_a_network_address_with_an_access_code_makes_the_facilitator_code():
    launch = plan(["--server.address=0.0.0.0"], {access.ACCESS_VAR: "orchid-42"})
    assert launch.env[access.ACCESS_VAR] == "orchid-42" and launch.env[access.FACILITATOR_VAR]
    assert launch.env[access.FACILITATOR_VAR] in "\n".join(launch.banner)


@pytest.mark.parametrize(("env", "reason"), [
    ({access.ACCESS_VAR: "abc"}, "shorter than 6"),
    ({access.ACCESS_VAR: "orchid-42", access.FACILITATOR_VAR: "Orchid 42"}, "the same"),
])
def test_weak_codes_are_refused(env, reason):
    with pytest.raises(ServeError, match=reason):
        plan(["--workshop"], env)


@pytest.mark.parametrize("flag", ["--server.enableXsrfProtection=false", "--server.enableCORS=false"])
def test_the_network_is_refused_with_streamlit_protections_off(flag):
    with pytest.raises(ServeError, match="=false"):
        plan(["--workshop", flag], {})
    assert flag in plan([flag], {}).cmd  # on localhost it is the user's choice


def test_the_launcher_refuses_the_network_before_starting_anything():
    """The real command: exit status 2, the reason and the fix on stderr, no server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIGHTSIZE_") or k == "RIGHTSIZE_HOME"}
    done = subprocess.run([sys.executable, "-m", "app.serve", "--server.address=0.0.0.0"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "refusing to listen on every network interface (0.0.0.0) without an access code" in done.stderr and "--workshop" in done.stderr
    assert "Starting Rightsize" not in done.stderr


def upgrade_status(port: int, host: str) -> bytes:
    """The first line of the server's answer to a websocket upgrade that names `host` (as a browser would)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall(f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://{host}\r\n\r\n".encode())
        return s.recv(200).split(b"\r\n")[0]


def test_the_real_server_listens_on_loopback_only_and_refuses_foreign_host_names(tmp_path):
    """The repository's own settings file, started the README way: every listening socket is loopback, and a
    page served under another name (DNS rebinding) cannot open the dashboard's websocket."""
    port = free_port()
    env = {**os.environ, "RIGHTSIZE_HOME": str(tmp_path), "RIGHTSIZE_NO_WORKER": "1"}
    env.pop("RIGHTSIZE_STREAMLIT_CONFIG", None)
    server = subprocess.Popen([sys.executable, "-m", "app.serve", f"--server.port={port}"], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "the server did not start"
                time.sleep(0.5)
        listening = [c.laddr.ip for c in psutil.net_connections("inet")
                     if c.status == psutil.CONN_LISTEN and c.laddr.port == port]
        assert listening and all(is_loopback(ip) for ip in listening), listening
        assert upgrade_status(port, f"127.0.0.1:{port}") == b"HTTP/1.1 101 Switching Protocols"
        assert upgrade_status(port, f"localhost:{port}") == b"HTTP/1.1 101 Switching Protocols"
        assert upgrade_status(port, f"attacker.example:{port}") == b"HTTP/1.1 403 Forbidden"
    finally:
        server.terminate()
        server.wait(timeout=20)

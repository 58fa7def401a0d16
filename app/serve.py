"""Start the dashboard with the settings of streamlit_config.toml applied as command-line flags.

`python -m app.serve [--workshop] [streamlit flags]`: flags given here come after the file's and win.
RIGHTSIZE_STREAMLIT_CONFIG points at another settings file (tests use it).

Safe by default: the file binds to localhost. `--workshop` listens on every interface and turns on the sign-in
(app/access.py): the access code (RIGHTSIZE_ACCESS_CODE) lets attendees in, the facilitator code
(RIGHTSIZE_FACILITATOR_CODE) also deletes runs; a code not set is generated and printed with the addresses to
give attendees. Any other address that is not loopback is refused without an access code, however it is given.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app import access

REPO_ROOT = Path(__file__).resolve().parents[1]
ENTRY = REPO_ROOT / "app" / "main.py"
WORKSHOP_FLAG = "--workshop"
EVERY_INTERFACE = "0.0.0.0"
WILDCARDS = (None, "", EVERY_INTERFACE, "::")  # addresses that mean every interface to Streamlit
DEFAULT_PORT = "8501"
PROTECTIONS = ("--server.enableXsrfProtection", "--server.enableCORS")  # must stay on when others can connect


class ServeError(Exception):
    """A launch refused, with the reason and the fix (exit status 2)."""


@dataclass(frozen=True)
class Launch:
    cmd: list[str]
    env: dict[str, str]
    banner: list[str] = field(default_factory=list)  # what the facilitator reads on start


def config_path() -> Path:
    return Path(os.environ.get("RIGHTSIZE_STREAMLIT_CONFIG", REPO_ROOT / "streamlit_config.toml"))


def flags_from_config(path: Path) -> list[str]:
    """{"server": {"port": 8501}} -> ["--server.port=8501"]; booleans as true/false; a list gives one flag per
    item (Streamlit's multiple-value options)."""
    with open(path, "rb") as f:
        config = tomllib.load(f)
    flags = []
    for section, options in config.items():
        for key, value in options.items():
            for item in value if isinstance(value, list) else [value]:
                text = str(item).lower() if isinstance(item, bool) else str(item)
                flags.append(f"--{section}.{key}={text}")
    return flags


def command(extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(ENTRY), *flags_from_config(config_path()), *extra]


def flag_values(args: Sequence[str], name: str) -> list[str]:
    """Every value given for `name`, in order, as `--name=value` or `--name value`."""
    values = []
    for i, arg in enumerate(args):
        if arg.startswith(name + "="):
            values.append(arg.split("=", 1)[1])
        elif arg == name and i + 1 < len(args):
            values.append(args[i + 1])
    return values


def flag_value(args: Sequence[str], name: str) -> str | None:
    """The value Streamlit will use for a single-value option: the last one given."""
    values = flag_values(args, name)
    return values[-1] if values else None


def is_loopback(address: str | None) -> bool:
    """Only this machine can connect. No address means every interface to Streamlit; a host name other than
    localhost may resolve to anything, so it counts as the network."""
    if not address or not address.strip():
        return False
    address = address.strip().strip("[]")
    if address.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def lan_addresses() -> list[str]:
    """This machine's address on its network, for the URL attendees type. Connecting a UDP socket sends
    nothing; it only asks the kernel which interface would be used."""
    found = []
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.254.254.254", 1))
            found.append(s.getsockname()[0])
    except OSError:
        pass
    found = [a for a in found if not is_loopback(a)]
    return found or [socket.gethostname()]


def urls(address: str | None, flags: Sequence[str]) -> list[str]:
    port = flag_value(flags, "--server.port") or DEFAULT_PORT
    base = (flag_value(flags, "--server.baseUrlPath") or "").strip("/")
    hosts = lan_addresses() if address in WILDCARDS else [address]
    return [f"http://{host}:{port}/{base}" for host in hosts]


def plan(argv: Sequence[str], environ: Mapping[str, str]) -> Launch:
    """The streamlit command, its environment and the start banner for these arguments; ServeError when the
    launch would expose the dashboard unprotected. A network address needs an access code; whenever there is
    one, the facilitator code is made too (a code the caller did not set is generated)."""
    workshop = WORKSHOP_FLAG in argv
    extra = [a for a in argv if a != WORKSHOP_FLAG]
    # --workshop's address goes before the caller's flags, so `--workshop --server.address=<one LAN ip>` works
    cmd = command([f"--server.address={EVERY_INTERFACE}"] * workshop + extra)
    flags = cmd[5:]
    address = flag_value(flags, "--server.address") or environ.get("STREAMLIT_SERVER_ADDRESS")
    network = not is_loopback(address)
    codes = access.codes_from_env(environ)
    where = address if address not in WILDCARDS else f"every network interface ({address or 'no address set'})"
    if network and not (workshop or codes.access):
        raise ServeError(
            f"refusing to listen on {where} without an access code: anyone on the network could queue jobs and "
            f"delete runs. Start a workshop with `./scripts/run.sh --workshop` (it makes the codes), or set "
            f"{access.ACCESS_VAR}. Leave --server.address out to stay on this machine (localhost).")
    if network:
        for name in PROTECTIONS:
            if (flag_value(flags, name) or "true").lower() == "false":
                raise ServeError(f"refusing to listen on {where} with {name}=false: it protects attendees' "
                                 "browsers from other sites. Remove that setting.")
        # Any Host header: attendees may type an address or a name of this machine; the access code guards it
        # (the localhost list in the file stops DNS rebinding where there is no code). Streamlit's own banner
        # would ask checkip.amazonaws.com for an external address; ours lists the LAN ones.
        cmd += ["--server.allowedHosts=*", "--logger.hideWelcomeMessage=true"]
    elif address and address not in flag_values(flags, "--server.allowedHosts"):
        cmd.append(f"--server.allowedHosts={address}")  # another loopback address (127.0.0.2) given by hand
    env = dict(environ)
    if not (workshop or codes.access):
        return Launch(cmd, env)
    final = access.Codes(codes.access or access.new_code(2), codes.facilitator or access.new_code(4))
    problems = access.code_problems(final)
    if problems:
        raise ServeError(" ".join(problems))
    env[access.ACCESS_VAR], env[access.FACILITATOR_VAR] = final.access, final.facilitator

    def shown(code: str, supplied: str, var: str) -> str:
        return f"(yours, from {var}: not printed)" if supplied else code

    banner = [
        f"Workshop mode: listening on {where}; everyone signs in with a code.",
        f"  Tell attendees to open {' or '.join(urls(address, flags))}",
        *([f"  On this machine: {urls('localhost', flags)[0]}"] if address in WILDCARDS else []),
        f"  Access code for attendees:            {shown(final.access, codes.access, access.ACCESS_VAR)}",
        f"  Facilitator code (deleting; keep it): {shown(final.facilitator, codes.facilitator, access.FACILITATOR_VAR)}",
    ]
    return Launch(cmd, env, banner)


def main() -> None:
    os.chdir(REPO_ROOT)
    try:
        launch = plan(sys.argv[1:], os.environ)
    except ServeError as error:
        print(f"rightsize: {error}", file=sys.stderr, flush=True)
        sys.exit(2)
    print("Starting Rightsize:", " ".join(launch.cmd[2:]), file=sys.stderr, flush=True)
    for line in launch.banner:
        print(line, file=sys.stderr, flush=True)
    os.execve(launch.cmd[0], launch.cmd, launch.env)


if __name__ == "__main__":
    main()

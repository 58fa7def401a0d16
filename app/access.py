"""Who may use the dashboard and what they may do, as pure functions (no Streamlit, so tests and the launcher
use them directly; app/gate.py draws the sign-in form).

Workshop mode is on when RIGHTSIZE_ACCESS_CODE is set (app/serve.py sets it for `--workshop` and for any
address that is not loopback). Then everyone signs in: the access code makes an attendee, the facilitator code
(RIGHTSIZE_FACILITATOR_CODE) a facilitator, and only a facilitator deletes runs and trials. Without an access
code (a single-user install on localhost) there is no sign-in and everyone may do everything.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

ACCESS_VAR = "RIGHTSIZE_ACCESS_CODE"
FACILITATOR_VAR = "RIGHTSIZE_FACILITATOR_CODE"
MIN_CODE_CHARS = 6  # a shorter code is guessed by a bored attendee
# Lower-case letters and digits a projector cannot blur into each other (no 0/o, 1/l/i).
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"

Role = Literal["attendee", "facilitator"]


@dataclass(frozen=True)
class Codes:
    access: str = ""
    facilitator: str = ""

    @property
    def workshop(self) -> bool:
        """Sign-in and roles apply only when an access code is set."""
        return bool(self.access)


def codes_from_env(environ: Mapping[str, str] | None = None) -> Codes:
    env = os.environ if environ is None else environ
    return Codes(env.get(ACCESS_VAR, "").strip(), env.get(FACILITATOR_VAR, "").strip())


def new_code(groups: int) -> str:
    """A random code of `groups` groups of 4 easy-to-read characters: 'k7mq-2xpa' (about 20 bits a group)."""
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(4)) for _ in range(groups))


def normalize(code: str) -> str:
    """What people type from a projector: case, spaces and dashes do not matter."""
    return "".join(code.split()).replace("-", "").casefold()


def same_code(entered: str, expected: str) -> bool:
    """Constant-time comparison (hashing first hides the length too); an unset code matches nothing."""
    if not normalize(expected):
        return False
    digest = [hashlib.sha256(normalize(c).encode()).digest() for c in (entered, expected)]
    return hmac.compare_digest(*digest)


def role_for(entered: str, codes: Codes) -> Role | None:
    """The role a typed code grants, or None for a wrong (or empty) code."""
    if not normalize(entered):
        return None
    if same_code(entered, codes.facilitator):
        return "facilitator"
    if same_code(entered, codes.access):
        return "attendee"
    return None


def may_enter(role: Role | None, codes: Codes) -> bool:
    return not codes.workshop or role is not None


def may_delete(role: Role | None, codes: Codes) -> bool:
    """Deleting stored runs and trials: anyone on a single-user install, only the facilitator in a workshop."""
    return not codes.workshop or role == "facilitator"


def code_problems(codes: Codes) -> list[str]:
    """Why these codes would not protect a workshop (empty when they do)."""
    problems = []
    for name, code in ((ACCESS_VAR, codes.access), (FACILITATOR_VAR, codes.facilitator)):
        if code and len(normalize(code)) < MIN_CODE_CHARS:
            problems.append(f"{name} is shorter than {MIN_CODE_CHARS} characters (spaces and dashes not counted).")
    if codes.access and codes.facilitator and normalize(codes.access) == normalize(codes.facilitator):
        problems.append(f"{ACCESS_VAR} and {FACILITATOR_VAR} are the same: every attendee would be a facilitator.")
    return problems


@dataclass
class Throttle:
    """Slows guessing: after `max_failures` wrong codes within `window_s` from one client, that client waits
    until the oldest of them is `window_s` old. Shared by every session of the server process (module global
    below), so opening more tabs does not buy more guesses."""

    max_failures: int = 5
    window_s: float = 60.0
    _failures: dict[str, list[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_s(self, client: str, now: float | None = None) -> float:
        """Seconds before `client` may try again (0: now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            recent = [t for t in self._failures.get(client, []) if now - t < self.window_s]
            self._failures[client] = recent
            if len(recent) < self.max_failures:
                return 0.0
            return self.window_s - (now - recent[-self.max_failures])

    def failed(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._failures.setdefault(client, []).append(now)

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()


THROTTLE = Throttle()
WRONG_CODE_DELAY_S = 1.0  # every wrong code costs a second, on top of the throttle

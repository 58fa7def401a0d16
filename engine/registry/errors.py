"""Bad input is a ValueError: callers (CLI, pages) catch ValueError and show the message as it is."""

from __future__ import annotations


class ChoiceError(ValueError):
    """A name that is not one of the valid choices; the message names them and the closest one."""


class OfflineError(ValueError):
    """A model-hub id asked for while Rightsize runs offline."""


class NotInstalledError(ValueError):
    """A model or dataset whose package is missing; the message carries the command that installs it."""

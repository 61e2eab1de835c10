"""Exit codes shared by every command, and the one-line way to stop with one."""

from __future__ import annotations

import sys
from enum import IntEnum
from typing import NoReturn

import typer


class ExitCode(IntEnum):
    """0: all records valid (or skipped on request); 1: invalid records or a timeout;
    2: usage, input or server errors."""

    OK = 0
    INVALID = 1
    ERROR = 2


def fail(message: str, code: ExitCode = ExitCode.ERROR) -> NoReturn:
    """Print ``error: message`` as one line on stderr and exit with ``code``."""
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()
    raise typer.Exit(int(code))


def note(message: str) -> None:
    """Print one informational line on stderr."""
    sys.stderr.write(f"{message}\n")
    sys.stderr.flush()

"""The ``nemogym-docent`` command line: convert, validate, upload, schema.

``main`` is the console script: Ctrl-C ends any command with one line, ``interrupted``, and exit
code 130, leaving no partial output; no Python traceback reaches the user.
"""

from __future__ import annotations

import signal
import sys

TYPE_CHECKING = False  # as typing's: importing typing would widen the window before main runs
if TYPE_CHECKING:
    from types import FrameType
    from typing import Any

    from nemogym_docent.cli.commands import app

INTERRUPTED = 130


class Interrupted(BaseException):
    """Ctrl-C; a BaseException so that no handler of errors takes it for one."""


def _interrupt(_signal: int, _frame: FrameType | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up
    raise Interrupted


def main() -> None:
    """Run the command line as ``nemogym-docent``."""
    signal.signal(signal.SIGINT, _interrupt)
    try:
        from nemogym_docent.cli.commands import app  # noqa: PLC0415

        app(prog_name="nemogym-docent")
    except Interrupted:
        sys.stderr.write("interrupted\n")
        sys.exit(INTERRUPTED)


def __getattr__(name: str) -> Any:
    if name == "app":
        from nemogym_docent.cli.commands import app  # noqa: PLC0415

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["app", "main"]

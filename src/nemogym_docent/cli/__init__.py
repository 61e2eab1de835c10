"""The ``nemogym-docent`` command line: convert, validate, upload, schema.

``main`` is the console script: Ctrl-C ends any command with one line, ``interrupted``, and exit
code 130 (SIGTERM: ``terminated``, 143), leaving no partial output; no Python traceback reaches
the user.
"""

from __future__ import annotations

import signal
import sys

from nemogym_docent.engine.stopping import STOPPING_SIGNALS, Interrupted

TYPE_CHECKING = False  # as typing's: importing typing would widen the window before main runs
if TYPE_CHECKING:
    from types import FrameType
    from typing import Any

    from nemogym_docent.cli.commands import app

_SAID: dict[int, tuple[str, int]] = {
    signal.SIGINT: ("interrupted", 130),
    signal.SIGTERM: ("terminated", 143),
}


def _interrupt(signal_number: int, _frame: FrameType | None) -> None:
    for number in STOPPING_SIGNALS:  # a second signal must not cut the clean-up
        signal.signal(number, signal.SIG_IGN)
    raise Interrupted(signal_number)


def main() -> None:
    """Run the command line as ``nemogym-docent``."""
    for number in STOPPING_SIGNALS:
        signal.signal(number, _interrupt)
    try:
        from nemogym_docent.cli.commands import app  # noqa: PLC0415

        app(prog_name="nemogym-docent")
    except Interrupted as stop:
        said, code = _SAID.get(stop.signal_number, _SAID[signal.SIGINT])
        sys.stderr.write(f"{said}\n")
        sys.exit(code)


def __getattr__(name: str) -> Any:
    if name == "app":
        from nemogym_docent.cli.commands import app  # noqa: PLC0415

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["app", "main"]

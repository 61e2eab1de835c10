"""Ctrl-C and SIGTERM as one exception, so that every stage stops the same way.

Light (no typing): the command line imports it before it handles Ctrl-C.
"""

from __future__ import annotations

import signal

STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM; a BaseException so that no handler of errors takes it for one."""

    def __init__(self, signal_number: int = signal.SIGINT) -> None:
        super().__init__(signal_number)
        self.signal_number = signal_number

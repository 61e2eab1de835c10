"""``--html FILE`` and ``--markdown FILE`` of ``summary`` and ``compare``: written after the
output, each file whole or not at all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nemogym_docent.cli.reporting import fail, say


@dataclass(frozen=True)
class Reports:
    """Where to write the reports asked for (``None``: not asked)."""

    html: Path | None = None
    markdown: Path | None = None
    docent_collection: str | None = None
    """Link the runs of this collection, from the upload ledger."""

    @property
    def asked(self) -> bool:
        return self.html is not None or self.markdown is not None

    def write(self, html: Callable[[], str], markdown: Callable[[], str], *, quiet: bool) -> None:
        """Make and write each report asked for; a path that cannot be written fails."""
        for path, make, kind in ((self.html, html, "HTML"), (self.markdown, markdown, "markdown")):
            if path is None:
                continue
            _write_whole(path, make())
            if not quiet:
                say(f"wrote the {kind} report to {path}")


def _write_whole(path: Path, text: str) -> None:
    """Write through a temporary file beside ``path`` (made with the usual permissions), renamed
    into place; a failure leaves no file behind."""
    folder = path.parent if str(path.parent) else Path(".")
    temporary: str | None = None
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except OSError as exc:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        fail(f"cannot write {path}: {exc.strerror or exc}")

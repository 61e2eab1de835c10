"""The upload ledger: which runs this machine sent to a collection, and whether they arrived.

A small SQLite file. Before a batch goes, each of its runs is written down (its upload key, the
run id the client gave it and the line it came from) as *in flight*; once the server answers,
they are *stored*. A run still in flight when a later upload starts was cut off: that upload
asks the server whether its run id is there. Rows are kept per server and collection.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

LEDGER_VARIABLE = "NEMOGYM_DOCENT_LEDGER"
IN_FLIGHT = "in flight"
STORED = "stored"
_BUSY_MS = 30_000  # several uploads may share the file (Ray tasks, parallel commands)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    server TEXT NOT NULL,
    collection TEXT NOT NULL,
    run_id TEXT NOT NULL,
    upload_key TEXT NOT NULL,
    origin TEXT NOT NULL,
    state TEXT NOT NULL,
    sent_at REAL NOT NULL,
    PRIMARY KEY (server, collection, run_id)
);
CREATE INDEX IF NOT EXISTS runs_by_key ON runs (server, collection, upload_key);
"""


def default_ledger_path() -> Path:
    """``$NEMOGYM_DOCENT_LEDGER``, else ``uploads.sqlite`` under ``$XDG_STATE_HOME/nemogym-docent``
    (``~/.local/state`` when that is unset)."""
    given = os.environ.get(LEDGER_VARIABLE)
    if given:
        return Path(given).expanduser()
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "nemogym-docent" / "uploads.sqlite"


@dataclass(frozen=True)
class LedgerRun:
    """One run the ledger holds: its key, the id it was sent with, and the line it came from."""

    upload_key: str
    run_id: str
    origin: str


class Ledger:
    """The rows of one server and collection in the ledger file at ``path`` (made when missing).

    ``path=None`` keeps the rows in memory only, for the life of the object.
    """

    def __init__(self, path: Path | None, *, server: str, collection: str) -> None:
        self.path = path
        self.server = server
        self.collection = collection
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            ":memory:" if path is None else str(path),
            timeout=_BUSY_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def sending(self, runs: Sequence[LedgerRun]) -> None:
        """Write the runs down as in flight, before their batch goes."""
        now = time.time()
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (self.server, self.collection, run.run_id, run.upload_key, run.origin,
                     IN_FLIGHT, now)
                    for run in runs
                ],
            )  # fmt: skip

    def stored(self, run_ids: Iterable[str]) -> None:
        """The server holds these runs (it acknowledged them, or lists their ids)."""
        self._set_state(run_ids, STORED)

    def absent(self, run_ids: Iterable[str]) -> None:
        """The server does not hold these runs, and cannot store them any more: forget them."""
        with self._transaction():
            self._db.executemany(
                "DELETE FROM runs WHERE server = ? AND collection = ? AND run_id = ?",
                [(self.server, self.collection, run_id) for run_id in run_ids],
            )

    def stored_keys(self) -> set[str]:
        """The keys of the runs the server holds, as far as this ledger knows."""
        return {key for (key,) in self._select("upload_key", STORED)}

    def keys_by_run_id(self) -> dict[str, str]:
        """Run id -> upload key of the runs the server holds, as far as this ledger knows."""
        return {row[0]: row[1] for row in self._select("run_id, upload_key", STORED)}

    def in_flight(self) -> list[LedgerRun]:
        """The runs sent without an answer (the upload stopped first), oldest first."""
        rows = self._select("upload_key, run_id, origin", IN_FLIGHT, order="sent_at, rowid")
        return [LedgerRun(key, run_id, origin) for key, run_id, origin in rows]

    def _set_state(self, run_ids: Iterable[str], state: str) -> None:
        with self._transaction():
            self._db.executemany(
                "UPDATE runs SET state = ? WHERE server = ? AND collection = ? AND run_id = ?",
                [(state, self.server, self.collection, run_id) for run_id in run_ids],
            )

    def _select(self, columns: str, state: str, order: str = "rowid") -> list[tuple[str, ...]]:
        with closing(
            self._db.execute(
                f"SELECT {columns} FROM runs WHERE server = ? AND collection = ? AND state = ?"
                f" ORDER BY {order}",
                (self.server, self.collection, state),
            )
        ) as cursor:
            return cursor.fetchall()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


def stored_runs(path: Path, collection: str) -> dict[str, str]:
    """Every run the ledger at ``path`` holds as stored in ``collection`` (any server): the
    line it came from (``"{file}:{line}"``) → its run id. Empty when the file is absent."""
    if not path.exists():
        return {}
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
        rows = db.execute(
            "SELECT origin, run_id FROM runs WHERE collection = ? AND state = ? ORDER BY rowid",
            (collection, STORED),
        ).fetchall()
    return dict(rows)

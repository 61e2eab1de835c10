"""The upload ledger: what was sent where, in flight until the server answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from nemogym_docent.upload.ledger import LEDGER_VARIABLE, Ledger, LedgerRun, default_ledger_path


def runs(*names: str) -> list[LedgerRun]:
    return [LedgerRun(f"key-{name}", f"id-{name}", f"a.jsonl:{index}") for index, name in
            enumerate(names, 1)]  # fmt: skip


def test_runs_are_in_flight_until_stored_and_kept_across_opening(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ledger.sqlite"
    with Ledger(path, server="http://s", collection="c") as ledger:
        ledger.sending(runs("a", "b", "c"))
        assert [run.run_id for run in ledger.in_flight()] == ["id-a", "id-b", "id-c"]
        assert ledger.stored_keys() == set()
        ledger.stored(["id-a"])
    with Ledger(path, server="http://s", collection="c") as again:
        assert again.stored_keys() == {"key-a"}
        assert again.in_flight() == runs("a", "b", "c")[1:]
        again.absent(["id-b"])
        assert [run.run_id for run in again.in_flight()] == ["id-c"]


def test_rows_are_kept_per_server_and_collection(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger(path, server="http://s", collection="c") as ledger:
        ledger.sending(runs("a"))
        ledger.stored(["id-a"])
    for server, collection in (("http://s", "other"), ("http://t", "c")):
        with Ledger(path, server=server, collection=collection) as other:
            assert other.stored_keys() == set()
            assert other.in_flight() == []


def test_a_key_sent_twice_is_two_rows(tmp_path: Path) -> None:
    with Ledger(None, server="http://s", collection="c") as ledger:
        ledger.sending([LedgerRun("k", "id-1", "a.jsonl:1"), LedgerRun("k", "id-2", "b.jsonl:1")])
        ledger.stored(["id-1"])
        assert ledger.stored_keys() == {"k"}
        assert ledger.in_flight() == [LedgerRun("k", "id-2", "b.jsonl:1")]


def test_the_file_lives_where_the_variable_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LEDGER_VARIABLE, str(tmp_path / "elsewhere.sqlite"))
    assert default_ledger_path() == tmp_path / "elsewhere.sqlite"
    monkeypatch.delenv(LEDGER_VARIABLE)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_ledger_path() == tmp_path / "state" / "nemogym-docent" / "uploads.sqlite"

"""The runs a report links to (``--docent-collection ID``): those the upload ledger holds, else
those the Docent server holds, matched to the report's rollout lines by their upload keys."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence

from nemogym_docent.cli.reporting import say
from nemogym_docent.convert import convert_rollout
from nemogym_docent.engine.compare_upload import side_upload_key
from nemogym_docent.errors import ConversionError
from nemogym_docent.jsonl.discovery import InputError, Source, discover, read_lines
from nemogym_docent.jsonl.parsing import BLANK, parse_line, split_lines
from nemogym_docent.options import ConversionOptions, RecordOrigin
from nemogym_docent.upload.faults import UploadError
from nemogym_docent.upload.keys import upload_key
from nemogym_docent.upload.ledger import default_ledger_path, stored_runs
from nemogym_docent.upload.retry import Retrying, RetryPolicy

SERVER_TIMEOUT = 60.0
SERVER_PATIENCE = 0.0
"""A report does not wait for a server that fails: it says why, and offers the upload command."""
UPLOADED = (ConversionOptions(), ConversionOptions(strict=False))
"""How ``upload`` may have converted a line: strictly (its default), or with ``--lenient``."""


def docent_runs(
    inputs: Sequence[str], collection: str, lines: Collection[str], *, quiet: bool
) -> dict[str, str]:
    """The run id, in ``collection``, of each of these rollout lines (``"{file}:{line}"``): from
    the upload ledger when it holds any of them, else asked of the Docent server (its key and
    URL as ``upload`` takes them). Says where the links come from and how many it found."""
    wanted = set(lines)
    if not wanted:
        return {}
    stored = stored_runs(default_ledger_path(), collection)
    runs = {line: stored[line] for line in wanted if line in stored}
    if runs:
        _note(quiet, f"the upload ledger holds {len(runs)} of the report's {len(wanted)} rollouts")
        return runs
    _note(
        quiet,
        f"the upload ledger holds no run of these files in collection {collection}: "
        "asking the Docent server",
    )
    runs, where = _server_runs(inputs, collection, wanted)
    if where is not None:
        _note(quiet, f"{where} holds {len(runs)} of the report's {len(wanted)} rollouts")
    if not runs:
        _note(quiet, "the report offers the upload command instead")
    return runs


def _note(quiet: bool, text: str) -> None:
    if not quiet:
        say(f"links: {text}")


def _server_runs(
    inputs: Sequence[str], collection: str, wanted: set[str]
) -> tuple[dict[str, str], str | None]:
    """The wanted lines' runs the server holds, and a phrase naming the collection on the
    server; no runs and None (after a note saying why) when it cannot tell."""
    from nemogym_docent.upload.client import DocentUploader  # noqa: PLC0415

    try:
        uploader = DocentUploader(
            api_url=None,
            frontend_url=None,
            timeout=SERVER_TIMEOUT,
            quiet=True,
            retrying=Retrying(RetryPolicy(patience=SERVER_PATIENCE)),
        )
        keys = line_keys(inputs, wanted)
        found = uploader.runs_by_key(collection, keys)
    except UploadError as exc:
        say(f"links: none from the Docent server: {exc}")
        return {}, None
    where = f"collection {collection} on {uploader.server.removesuffix('/rest')}"
    return {keys[key]: run for key, run in found.items()}, where


def line_keys(inputs: Sequence[str], wanted: Collection[str]) -> dict[str, str]:
    """Every upload key a run of these lines may have been sent under (``upload``, strictly or
    with ``--lenient``, and each side of ``compare --upload``) → its line."""
    keys: dict[str, str] = {}
    try:
        sources = discover(list(inputs), skip_unreadable=True, failures=True).sources
    except InputError:
        return keys
    for source in sources:
        if source.path is None:  # standard input cannot be read again
            continue
        lines = split_lines(read_lines(source, count_bytes=_ignore, note=_quiet))
        for number, raw in enumerate(lines, start=1):
            origin = f"{source.name}:{number}"
            if origin in wanted:
                keys.update(dict.fromkeys(_keys(source, number, raw), origin))
    return keys


def _keys(source: Source, number: int, raw: bytes) -> Iterator[str]:
    try:
        value = parse_line(raw)
    except (ValueError, RecursionError):
        return
    if value is BLANK:
        return
    for options in UPLOADED:
        try:
            run = convert_rollout(value, options, RecordOrigin(source.stem, number))
        except ConversionError:
            continue
        key = upload_key(raw, options, name=run.name)
        yield from (key, side_upload_key(key, "baseline"), side_upload_key(key, "candidate"))


def _ignore(_size: int) -> None:
    pass


def _quiet(_text: str) -> None:
    pass

"""Read NeMo Gym rollout exports into a Ray Dataset of AgentRun JSON lines, as ``convert`` would.

Files are read as bytes and cut into lines by the project's own reader, so that blank lines,
line endings, undecodable bytes and line numbers are what the command line sees (Ray's
``read_text`` drops blank lines, decodes strictly and forgets line numbers).
"""

from __future__ import annotations

import glob
import io
import posixpath
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow.fs as pafs
import ray.data

from nemogym_docent.convert import convert_rollout
from nemogym_docent.errors import ConversionError
from nemogym_docent.jsonl.discovery import (
    STDIN,
    InputError,
    Source,
    discover,
    sidecar_reason,
)
from nemogym_docent.jsonl.dumping import dump_agent_run
from nemogym_docent.jsonl.files import (
    EXPORT_SUFFIXES,
    describe_read_error,
    export_stem,
    read_export_lines,
)
from nemogym_docent.jsonl.parsing import read_json_line, split_lines
from nemogym_docent.options import ConversionOptions, Detail, RecordOrigin
from nemogym_docent.upload.keys import upload_key

COLUMNS = ("file", "line", "agent_run", "error", "json_path", "upload_key")
"""A row's columns: where the record is (``file`` as the command line names it, ``line`` from 1),
the AgentRun JSON line (empty when it failed), the failure and its JSON path (empty when it
converted), and the key an upload gives the run."""


@dataclass(frozen=True)
class RolloutFile:
    """One export to read: its name in rows and messages, and where the filesystem finds it."""

    name: str
    path: str
    stem: str


def read_nemogym_rollouts(
    paths: str | Sequence[str],
    *,
    strict: bool = True,
    detail: Detail = "docent",
    preserve_order: bool = False,
    filesystem: pafs.FileSystem | None = None,
) -> ray.data.Dataset:
    """A Dataset with one row per non-blank line of the exports (see ``COLUMNS``).

    ``paths``: files, directories and (local) globs, as the command line takes them, or URIs
    that pyarrow's filesystems read (``s3://bucket/prefix``; or pass ``filesystem``).
    Directories give their ``*.jsonl``, ``*.jsonl.gz`` and ``*.jsonl.zst`` files in sorted order,
    leaving out NeMo Gym's side files. ``strict=False`` is the lenient mode, ``detail="full"`` the
    full detail (as for ``convert_nemogym_jsonl_line``). ``preserve_order``
    keeps the rows, and what is written from them, in input order.
    """
    arguments = [paths] if isinstance(paths, str) else list(paths)
    files = find_rollout_files(arguments, filesystem)
    if not files:
        raise ValueError("no NeMo Gym rollout file in " + ", ".join(arguments))
    items = [{"name": f.name, "path": f.path, "stem": f.stem} for f in files]
    dataset = ray.data.from_items(items, override_num_blocks=len(items))
    if preserve_order:
        dataset.context.execution_options.preserve_order = True
    convert = _FileConverter(ConversionOptions(strict=strict, detail=detail), filesystem)
    return dataset.flat_map(convert)


def find_rollout_files(
    paths: list[str], filesystem: pafs.FileSystem | None = None
) -> list[RolloutFile]:
    """The files to read, in order: local paths exactly as the command line finds them (a file
    named twice, say through its folder and a glob, is read once)."""
    files: list[RolloutFile] = []
    for argument in paths:
        if argument == STDIN:
            raise ValueError("Ray's tasks cannot read standard input: name files")
        if filesystem is None and _is_local(argument):
            local = argument.removeprefix("file://")
            try:
                found = discover([local], skip_unreadable=False)
            except InputError as exc:
                raise FileNotFoundError(str(exc)) from exc
            files += [_local(source) for source in found.sources]
        else:
            files += _remote(argument, filesystem)
    first_of_each: dict[str, RolloutFile] = {}
    for file in files:
        first_of_each.setdefault(file.path, file)
    return list(first_of_each.values())


def _is_local(path: str) -> bool:
    return "://" not in path or path.startswith("file://")


def _local(source: Source) -> RolloutFile:
    assert source.path is not None
    return RolloutFile(source.name, str(source.path.resolve()), source.stem)


def _remote(uri: str, filesystem: pafs.FileSystem | None) -> list[RolloutFile]:
    """Files under a URI (named by URIs), or under a path of the given filesystem."""
    if filesystem is None:
        fs, path = pafs.FileSystem.from_uri(uri)
        scheme = uri.split("://", 1)[0] + "://"
    else:
        fs, path, scheme = filesystem, uri, ""
    if glob.has_magic(path):
        raise ValueError(f"{uri}: patterns are read on local paths only; name a directory")
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.File:
        return [RolloutFile(uri, scheme + path, export_stem(posixpath.basename(path)))]
    if info.type != pafs.FileType.Directory:
        raise FileNotFoundError(f"{uri}: no such file or directory")
    children = fs.get_file_info(pafs.FileSelector(path, recursive=True))
    found = sorted(child.path for child in children if child.type == pafs.FileType.File)
    prefix = uri.rstrip("/")
    return [
        RolloutFile(
            prefix + "/" + posixpath.relpath(child, path),
            scheme + child,
            export_stem(posixpath.basename(child)),
        )
        for child in found
        if child.endswith(EXPORT_SUFFIXES) and sidecar_reason(posixpath.basename(child)) is None
    ]


class _FileConverter:
    """Turns one file's row into a row per non-blank line (runs in Ray's workers)."""

    def __init__(self, options: ConversionOptions, filesystem: pafs.FileSystem | None) -> None:
        self.options = options
        self.filesystem = filesystem

    def __call__(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        file = RolloutFile(item["name"], item["path"], item["stem"])
        return [
            self._row(file, number, raw)
            for number, raw in enumerate(split_lines(self._lines(file)), start=1)
            if raw.strip()
        ]

    def _row(self, file: RolloutFile, number: int, raw: bytes) -> dict[str, Any]:
        row = {"file": file.name, "line": number, "agent_run": b"", "error": "", "json_path": ""}
        try:
            run = convert_rollout(
                read_json_line(raw), self.options, RecordOrigin(file.stem, number)
            )
        except ConversionError as exc:
            row.update(error=exc.message, json_path=exc.json_path, upload_key="")
        else:
            row["agent_run"] = dump_agent_run(run, raw)
            row["upload_key"] = upload_key(raw, self.options, name=run.name)
        return row

    def _lines(self, file: RolloutFile) -> Iterator[bytes]:
        """The file's lines split at ``\\n``, decompressed as the command line decides (by the
        first bytes), with the command line's words for a fault such as a cut-off stream."""
        try:
            data = self._read(file.path)
        except OSError as exc:
            raise OSError(f"{file.name}: {describe_read_error(exc)}") from exc
        try:
            yield from read_export_lines(None, name=file.name, stdin=io.BytesIO(data))
        except ConversionError as exc:
            raise OSError(str(exc)) from exc

    def _read(self, path: str) -> bytes:
        if self.filesystem is not None:
            fs = self.filesystem
        elif "://" in path:
            fs, path = pafs.FileSystem.from_uri(path)
        else:
            fs = pafs.LocalFileSystem()
        with fs.open_input_stream(path, compression=None) as stream:
            return bytes(stream.read())

"""``nemogym_docent.ray`` in Ray's local mode: the bytes ``convert`` writes, the lines and errors
it reports, and uploads that store each run once although Ray runs a killed task again.

Needs the ``ray`` extra: ``make test-ray`` installs it and runs these.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from itertools import groupby
from pathlib import Path
from typing import Any

import pytest
import zstandard
from cli_helpers import (
    jsonl,
    output_lines,
    run_cli,
    run_key,
    valid_rollouts,
    without_agent_ref,
)
from parity import CORPUS, EXAMPLES, FIXTURES

ray = pytest.importorskip("ray", reason="needs the ray extra (make test-ray)")
psutil = pytest.importorskip("psutil")
pafs = pytest.importorskip("pyarrow.fs")

from fake_docent import (  # noqa: E402
    API_KEY,
    COLLECTION,
    FakeDocent,
    without_ids,
)
from pytest_httpserver import HTTPServer  # noqa: E402
from werkzeug import Request  # noqa: E402

from nemogym_docent import (  # noqa: E402
    ConversionError,
    RecordOrigin,
    convert_nemogym_jsonl_line,
)
from nemogym_docent.options import ConversionOptions  # noqa: E402
from nemogym_docent.ray import (  # noqa: E402
    COLUMNS,
    DocentDatasink,
    read_nemogym_rollouts,
    write_agent_runs,
)


@pytest.fixture(scope="module", autouse=True)
def local_ray(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Ray on two CPUs, on the loopback address, with no docent.env the workers could read."""
    home = tmp_path_factory.mktemp("home")
    saved = dict(os.environ)
    os.environ.update(
        HOME=str(home),
        RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0",  # the loopback address, not the machine's
        RAY_USAGE_STATS_ENABLED="0",
    )
    for name in ("DOCENT_API_KEY", "DOCENT_API_URL", "DOCENT_FRONTEND_URL", "DOCENT_DOMAIN"):
        os.environ.pop(name, None)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        yield
    finally:
        ray.shutdown()
        os.environ.clear()
        os.environ.update(saved)


def written(directory: Path) -> bytes:
    """The parts ``write_agent_runs`` wrote, concatenated in name order."""
    return b"".join(part.read_bytes() for part in sorted(directory.glob("part-*.jsonl")))


def cli_convert(inputs: list[str], tmp_path: Path, *options: str) -> tuple[bytes, list[Any]]:
    """``convert --skip-invalid``'s output and its first error per failed record."""
    errors = tmp_path / "cli-errors.jsonl"
    args = ["convert", *inputs, "-q", "--skip-invalid", "--errors", str(errors), *options]
    result = run_cli(args)
    assert result.exit_code == 0, result.stderr
    failures = [json.loads(line) for line in errors.read_text().splitlines()]
    # A record's issues are consecutive; the rows keep the first.
    records = groupby(failures, key=lambda failure: (failure["file"], failure["line"]))
    return result.stdout_bytes, [
        (file, number, first["json_path"], first["message"])
        for (file, number), (first, *_) in records
    ]


def error_rows(dataset: Any) -> list[tuple[str, int, str, str]]:
    return [
        (row["file"], row["line"], row["json_path"], row["error"])
        for row in dataset.filter(lambda row: bool(row["error"])).take_all()
    ]


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "lenient"])
def test_examples_fixtures_and_corpus_give_the_bytes_and_errors_of_convert(
    tmp_path: Path, strict: bool
) -> None:
    inputs = [str(EXAMPLES), str(FIXTURES)]
    if CORPUS.is_dir():
        inputs.append(str(CORPUS))
    expected, expected_errors = cli_convert(inputs, tmp_path, *([] if strict else ["--lenient"]))
    dataset = read_nemogym_rollouts(inputs, strict=strict, preserve_order=True).materialize()
    write_agent_runs(dataset, str(tmp_path / "out"), skip_invalid=True)
    assert written(tmp_path / "out") == expected
    assert error_rows(dataset) == expected_errors
    assert dataset.columns() == list(COLUMNS)


def tricky_exports(directory: Path) -> list[str]:
    """Blank lines, CR and CRLF endings, bytes that are not UTF-8, broken JSON, a refused
    rollout; gzip (one file without the suffix), zstandard in two frames, and a side file."""
    good = valid_rollouts(6)
    plain = (
        jsonl(good[:2]).replace(b"\n", b"\r\n", 1)
        + b"\n  \n"
        + jsonl([good[2]]).replace(b"\n", b"\r")
        + b'{"not": "\xff utf-8"}\n'
        + b"{broken\n"
        + jsonl([without_agent_ref(), good[3]])
    )
    directory.mkdir()
    (directory / "a.jsonl").write_bytes(plain)
    (directory / "b.jsonl.gz").write_bytes(gzip.compress(jsonl(good[4:])))
    frames = zstandard.ZstdCompressor()
    (directory / "c.jsonl.zst").write_bytes(
        frames.compress(jsonl(good[:3])) + frames.compress(b"\n" + jsonl(good[3:]))
    )
    (directory / "run_materialized_inputs.jsonl").write_bytes(jsonl([{"input": "no rollout"}]))
    hidden_gzip = directory.parent / "gzipped-without-suffix.jsonl"
    hidden_gzip.write_bytes(gzip.compress(plain))
    return [str(directory), str(hidden_gzip), str(directory.parent / "e*" / "a.jsonl")]


def test_line_numbers_endings_compression_and_side_files_as_the_command_line(
    tmp_path: Path,
) -> None:
    inputs = tricky_exports(tmp_path / "exports")
    expected, expected_errors = cli_convert(inputs, tmp_path)
    assert len(expected_errors) == 6  # three in a.jsonl and three in its gzip copy; a.jsonl
    # named twice (its folder, a glob) is read once
    dataset = read_nemogym_rollouts(inputs, preserve_order=True).materialize()
    write_agent_runs(dataset, str(tmp_path / "out"), skip_invalid=True)
    assert written(tmp_path / "out") == expected
    assert error_rows(dataset) == expected_errors
    files = {row["file"] for row in dataset.take_all()}
    assert not any("materialized_inputs" in file for file in files)


def test_a_pyarrow_filesystem_reads_the_same_rows(tmp_path: Path) -> None:
    tricky_exports(tmp_path / "exports")
    local = read_nemogym_rollouts(str(tmp_path / "exports"), preserve_order=True).take_all()
    subtree = pafs.SubTreeFileSystem(str(tmp_path), pafs.LocalFileSystem())
    remote = read_nemogym_rollouts("exports", filesystem=subtree, preserve_order=True).take_all()
    assert [row["file"] for row in remote] == [
        row["file"].removeprefix(f"{tmp_path}/") for row in local
    ]
    assert [row["agent_run"] for row in remote] == [row["agent_run"] for row in local]
    assert len(remote) == 15


def test_a_failed_record_stops_a_strict_write_naming_file_and_line(tmp_path: Path) -> None:
    export = tmp_path / "export.jsonl"
    export.write_bytes(jsonl([*valid_rollouts(2), without_agent_ref()]))
    dataset = read_nemogym_rollouts(str(export))
    with pytest.raises(ConversionError) as refused:
        write_agent_runs(dataset, str(tmp_path / "out"))
    assert f"{export}:3: agent_ref: is required" in str(refused.value)


def test_missing_inputs_are_refused_before_ray_runs(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file or directory"):
        read_nemogym_rollouts(str(tmp_path / "missing.jsonl"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no NeMo Gym rollout file"):
        read_nemogym_rollouts(str(tmp_path / "empty"))
    with pytest.raises(ValueError, match="standard input"):
        read_nemogym_rollouts(["-"])


@pytest.fixture
def docent(httpserver: HTTPServer) -> FakeDocent:
    fake = FakeDocent(httpserver)
    fake.install()
    return fake


def kill_the_sender_once(docent: FakeDocent, after_batches: int) -> threading.Event:
    """After storing batch ``after_batches``, kill the Ray worker that sent it (before it hears
    back), once: Ray then runs that write task again."""
    killed = threading.Event()

    def kill_the_sender(stored: int, request: Request) -> None:
        if stored != after_batches or killed.is_set():
            return
        port = int(request.environ["REMOTE_PORT"])
        for connection in psutil.net_connections(kind="tcp"):
            if connection.laddr and connection.laddr.port == port and connection.pid:
                os.kill(connection.pid, signal.SIGKILL)
                killed.set()

    docent.on_batch = kill_the_sender
    return killed


def test_the_datasink_stores_every_run_once_though_a_killed_task_runs_again(
    docent: FakeDocent, tmp_path: Path
) -> None:
    shards = tmp_path / "shards"
    shards.mkdir()
    lines = []
    for shard in range(3):
        records = valid_rollouts(7, agent=f"agent-{shard}")
        (shards / f"shard-{shard}.jsonl").write_bytes(jsonl(records))
        lines += jsonl(records).splitlines()
    killed = kill_the_sender_once(docent, after_batches=2)
    sink = DocentDatasink(
        collection_id=COLLECTION,
        api_key=API_KEY,
        api_url=docent.server.url_for("/"),
        frontend_url="http://127.0.0.1:1/web",
        batch_size=3,
    )
    dataset = read_nemogym_rollouts(str(shards))
    dataset.write_datasink(sink)
    assert killed.is_set()
    keys = Counter(docent.upload_keys())
    assert keys == Counter(run_key(line) for line in lines)
    assert max(keys.values()) == 1
    assert sink.counts.sent + sink.counts.already >= 21
    expected = output_lines(cli_convert([str(shards)], tmp_path)[0])
    stored = sorted((without_ids(run) for run in docent.runs), key=lambda run: run["name"])
    assert stored == sorted(expected, key=lambda run: run["name"])

    again = DocentDatasink(
        collection_id=COLLECTION,
        api_key=API_KEY,
        api_url=docent.server.url_for("/"),
        frontend_url="http://127.0.0.1:1/web",
    )
    dataset.write_datasink(again)
    assert (again.counts.sent, again.counts.already) == (0, 21)
    assert len(docent.runs) == 21


def test_the_datasink_stops_at_a_failed_row_or_leaves_it_out(
    docent: FakeDocent, tmp_path: Path
) -> None:
    export = tmp_path / "export.jsonl"
    export.write_bytes(jsonl([*valid_rollouts(3), without_agent_ref()]))
    options: dict[str, Any] = {
        "collection_id": COLLECTION,
        "api_key": API_KEY,
        "api_url": docent.server.url_for("/"),
        "frontend_url": "http://127.0.0.1:1/web",
    }
    dataset = read_nemogym_rollouts(str(export))
    with pytest.raises(ConversionError) as refused:
        dataset.write_datasink(DocentDatasink(**options))
    assert f"{export}:4: agent_ref: is required" in str(refused.value)
    assert docent.runs == []
    sink = DocentDatasink(**options, skip_invalid=True)
    dataset.write_datasink(sink)
    assert (sink.counts.sent, sink.counts.already, sink.counts.skipped) == (3, 0, 1)
    assert len(docent.runs) == 3


def test_full_detail_reaches_every_line_and_its_key(tmp_path: Path) -> None:
    lines = EXAMPLES.read_bytes().splitlines(keepends=True)
    stem = EXAMPLES.name.removesuffix(".jsonl")
    expected = b"".join(
        convert_nemogym_jsonl_line(line, detail="full", origin=RecordOrigin(stem, number))
        for number, line in enumerate(lines, start=1)
    )
    assert expected != b"".join(map(convert_nemogym_jsonl_line, lines))
    dataset = read_nemogym_rollouts(str(EXAMPLES), detail="full", preserve_order=True)
    write_agent_runs(dataset, str(tmp_path / "out"))
    assert written(tmp_path / "out") == expected
    keys = [row["upload_key"] for row in dataset.take_all()]
    full = ConversionOptions(detail="full")
    assert keys == [
        run_key(line, full, RecordOrigin(stem, number)) for number, line in enumerate(lines, 1)
    ]


def test_a_cut_off_zstandard_export_fails_as_the_command_line_does(tmp_path: Path) -> None:
    export = tmp_path / "cut.jsonl.zst"
    whole = zstandard.ZstdCompressor().compress(jsonl(valid_rollouts(40)))
    export.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(Exception, match="the compressed stream ends early"):
        read_nemogym_rollouts(str(export)).take_all()
    result = run_cli(["convert", str(export), "-q"])
    assert "the compressed stream ends early" in result.stderr

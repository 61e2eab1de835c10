"""``convert_nemogym_jsonl_line``: line by line, the bytes ``nemogym-docent convert`` writes."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest
from builders import rollout
from cli_helpers import jsonl, run_cli, without_agent_ref
from parity import EXAMPLES, FIXTURES, corpus_files

from nemogym_docent import ConversionError, RecordOrigin, convert_nemogym_jsonl_line
from nemogym_docent.jsonl.parsing import split_lines

FILES = [EXAMPLES, *sorted(FIXTURES.glob("*.jsonl")), *corpus_files()]


def line_by_line(path: Path, *, strict: bool) -> tuple[bytes, int]:
    """Every line of ``path`` through the per-line function; the lines it refused are counted."""
    output, refused = [], 0
    for number, line in enumerate(split_lines(io.BytesIO(path.read_bytes())), start=1):
        origin = RecordOrigin(path.name.removesuffix(".jsonl"), number)
        try:
            output.append(convert_nemogym_jsonl_line(line, strict=strict, origin=origin))
        except ConversionError:
            refused += 1
    return b"".join(output), refused


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "lenient"])
@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_line_by_line_equals_the_convert_command(path: Path, strict: bool) -> None:
    mode = [] if strict else ["--lenient"]
    converted = run_cli(["convert", str(path), "-q", "--skip-invalid", *mode])
    assert converted.exit_code == 0, converted.stderr
    output, refused = line_by_line(path, strict=strict)
    assert output == converted.stdout_bytes
    records = sum(1 for line in split_lines(io.BytesIO(path.read_bytes())) if line.strip())
    assert output.count(b"\n") == records - refused


def test_the_examples_convert_strictly_and_end_each_run_with_a_newline() -> None:
    output, refused = line_by_line(EXAMPLES, strict=True)
    assert refused == 0
    assert output.count(b"\n") == len(EXAMPLES.read_bytes().splitlines())
    runs = [orjson.loads(line) for line in output.splitlines()]
    assert all("id" not in run and "id" not in run["transcripts"][0] for run in runs)


def test_a_blank_line_gives_no_bytes_and_line_endings_do_not_matter() -> None:
    assert convert_nemogym_jsonl_line(b" \t\r\n") == b""
    line = jsonl([rollout()]).rstrip(b"\n")
    expected = convert_nemogym_jsonl_line(line)
    assert expected.endswith(b"}\n")
    assert convert_nemogym_jsonl_line(line + b"\r\n") == expected
    assert convert_nemogym_jsonl_line(b"  " + line + b"\n") == expected


def test_a_bad_line_raises_conversion_error_without_a_location() -> None:
    with pytest.raises(ConversionError) as broken:
        convert_nemogym_jsonl_line(b'{"responses_create_params": ')
    assert broken.value.message.startswith("invalid JSON")
    assert (broken.value.file, broken.value.line) == (None, None)
    with pytest.raises(ConversionError) as not_utf8:
        convert_nemogym_jsonl_line(b'{"a": "\xff"}')
    assert not_utf8.value.message.startswith("not valid UTF-8")
    refused = jsonl([without_agent_ref()])
    with pytest.raises(ConversionError) as invalid:
        convert_nemogym_jsonl_line(refused)
    assert invalid.value.json_path == "agent_ref"


def test_the_lenient_mode_names_a_run_without_identity_after_its_origin() -> None:
    line = jsonl([without_agent_ref()])
    named = convert_nemogym_jsonl_line(line, strict=False, origin=RecordOrigin("shard-7", 12))
    assert b'"name":"shard-7/' in named
    assert b'"name":"nemogym/' in convert_nemogym_jsonl_line(line, strict=False)

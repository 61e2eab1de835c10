"""Reading JSONL: lines numbered as Docent's text-mode reader does, values as json.loads gives."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from builders import rollout
from docent.sdk.integrations import nemogym as docent_nemogym
from docent.sdk.integrations.util import ConversionError as DocentConversionError
from parity import FIXTURES, comparable, jsonl_records

from nemogym_docent import (
    ConversionError,
    convert_nemogym_jsonl_file_to_agent_runs,
    iter_nemogym_jsonl_file_to_agent_runs,
)
from nemogym_docent.jsonl.parsing import iter_json_lines


def read(data: bytes, tmp_path: Path) -> list[tuple[int, Any]]:
    """Our reader over a real binary file holding ``data``."""
    path = tmp_path / "data.jsonl"
    path.write_bytes(data)
    with path.open("rb") as stream:
        return list(iter_json_lines(stream, str(path)))


def read_as_text(data: bytes, tmp_path: Path) -> list[tuple[int, Any]]:
    """The reference: text mode, ``str.strip()``, blank lines skipped, ``json.loads``."""
    path = tmp_path / "reference.jsonl"
    path.write_bytes(data)
    with path.open(encoding="utf-8") as lines:
        stripped = ((number, line.strip()) for number, line in enumerate(lines, start=1))
        return [(number, json.loads(line)) for number, line in stripped if line]


def write(tmp_path: Path, data: bytes, name: str = "rollouts.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def line_of(row: Any) -> bytes:
    return json.dumps(row).encode()


LINE_LAYOUTS = {
    "lf": b'{"a": 1}\n[2]\n',
    "crlf": b'{"a": 1}\r\n[2]\r\n',
    "bare-cr": b'{"a": 1}\r[2]\r3\r',
    "mixed": b"1\r\n2\r3\n\r\n4",
    "no-final-newline": b"1\n2",
    "blank-lines": b"\n1\n\n  \t\n2\n\n",
    "cr-blank-lines": b"\r\r1\r\n\r\r\n2",
    "unicode-whitespace": "\u00a0\n\u2028\n\x1c\n\u3000 1 \u2003\n2\x0b\x0c\n".encode(),
    "only-blank": b"\n\r\n \r",
    "empty": b"",
}


@pytest.mark.parametrize("data", LINE_LAYOUTS.values(), ids=LINE_LAYOUTS.keys())
def test_lines_are_numbered_as_in_text_mode(data: bytes, tmp_path: Path) -> None:
    assert read(data, tmp_path) == read_as_text(data, tmp_path)


def test_blank_lines_keep_the_numbering(tmp_path: Path) -> None:
    assert read(b'\n{"a": 1}\n\n \n[2]\n', tmp_path) == [(2, {"a": 1}), (5, [2])]


def test_bare_carriage_return_ends_a_line(tmp_path: Path) -> None:
    assert read(b"1\r2\r\n3", tmp_path) == [(1, 1), (2, 2), (3, 3)]


VALUES = {
    "beyond-64-bits": b"[18446744073709551616, -9223372036854775809, 10000000000000000000000000]",
    "nineteen-digits": b"[9999999999999999999, 1234567890123456789]",
    "long-fraction": b"0.12345678901234567890123",
    "tiny-and-huge-floats": b"[1e-400, 1e400, -1e400]",
    "lone-surrogate": b'"\\ud800 and \\udfff"',
    "duplicate-keys": b'{"a": 1, "a": 2}',
    "escapes": b'"\\u00e9\\n\\u0000"',
    "negative-zero": b"[-0, -0.0]",
}


@pytest.mark.parametrize("data", VALUES.values(), ids=VALUES.keys())
def test_values_are_what_json_loads_gives(data: bytes, tmp_path: Path) -> None:
    [(_, value)] = read(data, tmp_path)
    expected = json.loads(data)
    assert value == expected
    assert json.dumps(value) == json.dumps(expected)


def test_big_integers_stay_exact_integers(tmp_path: Path) -> None:
    [(_, value)] = read(f'{{"n": {2**64 + 1}, "m": {-(2**100)}}}'.encode(), tmp_path)
    assert value == {"n": 2**64 + 1, "m": -(2**100)}
    assert all(type(number) is int for number in value.values())


def test_nan_and_infinity_are_accepted_as_json_loads_does(tmp_path: Path) -> None:
    [(_, value)] = read(b"[NaN, Infinity, -Infinity]", tmp_path)
    assert math.isnan(value[0])
    assert value[1:] == [math.inf, -math.inf]


def test_byte_order_mark_is_an_error_on_line_1(tmp_path: Path) -> None:
    path = write(tmp_path, b"\xef\xbb\xbf" + line_of(rollout()) + b"\n")
    with pytest.raises(ConversionError) as raised:
        convert_nemogym_jsonl_file_to_agent_runs(path)
    assert (raised.value.file, raised.value.line) == (str(path), 1)
    assert raised.value.message.startswith("invalid JSON")
    with pytest.raises(DocentConversionError, match="line 1"):
        docent_nemogym.convert_nemogym_jsonl_file_to_agent_runs(path)


def test_invalid_utf8_is_an_error_on_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, line_of(rollout()) + b"\n\n" + b'{"a": "\xff"}\n')
    with pytest.raises(ConversionError) as raised:
        convert_nemogym_jsonl_file_to_agent_runs(path)
    assert type(raised.value) is ConversionError
    assert (raised.value.file, raised.value.line) == (str(path), 3)
    assert isinstance(raised.value.__cause__, UnicodeDecodeError)
    # Docent's text-mode reader lets the decoding error escape.
    with pytest.raises(UnicodeDecodeError):
        docent_nemogym.convert_nemogym_jsonl_file_to_agent_runs(path)


def test_invalid_json_is_an_error_on_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, line_of(rollout()) + b"\r\n{'single': 'quotes'}\r\n")
    with pytest.raises(ConversionError) as raised:
        convert_nemogym_jsonl_file_to_agent_runs(path)
    assert (raised.value.file, raised.value.line, raised.value.json_path) == (str(path), 2, "")
    assert raised.value.message == (
        "invalid JSON (Expecting property name enclosed in double quotes, column 2)"
    )
    assert isinstance(raised.value.__cause__, json.JSONDecodeError)
    with pytest.raises(DocentConversionError, match="line 2"):
        docent_nemogym.convert_nemogym_jsonl_file_to_agent_runs(path)


@pytest.mark.parametrize("line", [b"[1, 2]", b'"rollout"', b"null", b"42"], ids=repr)
def test_non_object_line_is_an_error(line: bytes, tmp_path: Path) -> None:
    path = write(tmp_path, line_of(rollout()) + b"\n" + line + b"\n")
    with pytest.raises(ConversionError) as raised:
        convert_nemogym_jsonl_file_to_agent_runs(path)
    assert (raised.value.file, raised.value.line, raised.value.json_path) == (str(path), 2, "")
    with pytest.raises(DocentConversionError, match="line 2"):
        docent_nemogym.convert_nemogym_jsonl_file_to_agent_runs(path)


def test_integer_past_python_digit_limit_is_an_error_on_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, b"\n" + b'{"n": ' + b"7" * 5000 + b"}\n")
    with pytest.raises(ConversionError) as raised:
        convert_nemogym_jsonl_file_to_agent_runs(path)
    assert type(raised.value) is ConversionError
    assert (raised.value.file, raised.value.line) == (str(path), 2)


def test_deep_nesting_is_an_error_on_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, b"[" * 100_000 + b"]" * 100_000 + b"\n")
    with pytest.raises(ConversionError) as raised:
        convert_nemogym_jsonl_file_to_agent_runs(path)
    assert (raised.value.file, raised.value.line) == (str(path), 1)


def test_rollout_fault_names_file_line_and_json_path(tmp_path: Path) -> None:
    broken = rollout(_ng_rollout_index="0")
    path = write(tmp_path, line_of(rollout()) + b"\n\n" + line_of(broken) + b"\n")
    with pytest.raises(ConversionError) as raised:
        convert_nemogym_jsonl_file_to_agent_runs(str(path))
    error = raised.value
    assert (error.file, error.line, error.json_path) == (str(path), 3, "_ng_rollout_index")
    assert str(error) == f"{path}:3: _ng_rollout_index: expected integer, got string"
    assert isinstance(error.__cause__, ConversionError)
    assert (error.__cause__.file, error.__cause__.line) == (None, None)
    with pytest.raises(DocentConversionError, match="line 3"):
        docent_nemogym.convert_nemogym_jsonl_file_to_agent_runs(path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.jsonl"
    with pytest.raises(ConversionError) as raised:
        convert_nemogym_jsonl_file_to_agent_runs(path)
    assert (raised.value.file, raised.value.line) == (str(path), None)
    assert isinstance(raised.value.__cause__, FileNotFoundError)
    with pytest.raises(DocentConversionError):
        docent_nemogym.convert_nemogym_jsonl_file_to_agent_runs(path)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConversionError) as raised:
        convert_nemogym_jsonl_file_to_agent_runs(tmp_path)
    assert (raised.value.file, raised.value.line) == (str(tmp_path), None)
    assert isinstance(raised.value.__cause__, OSError)
    with pytest.raises(DocentConversionError):
        docent_nemogym.convert_nemogym_jsonl_file_to_agent_runs(tmp_path)


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
def test_file_converts_as_docent_does(ending: bytes, tmp_path: Path) -> None:
    rows = [rollout("one"), rollout("two", _ng_task_index=1), rollout("three", reward=0)]
    path = write(tmp_path, ending.join([b"", *map(line_of, rows), b"", b"  "]))
    ours = [comparable(run) for run in convert_nemogym_jsonl_file_to_agent_runs(path)]
    theirs = [
        comparable(run) for run in docent_nemogym.convert_nemogym_jsonl_file_to_agent_runs(path)
    ]
    assert ours == theirs
    assert [run["name"] for run in ours] == [
        "agent/task/0/rollout/0",
        "agent/task/1/rollout/0",
        "agent/task/0/rollout/0",
    ]


def test_iterator_yields_runs_before_a_later_fault(tmp_path: Path) -> None:
    path = write(tmp_path, line_of(rollout("first")) + b"\nnot json\n")
    runs = iter_nemogym_jsonl_file_to_agent_runs(path)
    first = next(runs)
    assert first.transcripts[0].messages[0].content == "first"
    with pytest.raises(ConversionError) as raised:
        next(runs)
    assert raised.value.line == 2


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.jsonl")), ids=lambda path: path.name)
def test_fixture_file_converts_whole_as_docent_does(path: Path) -> None:
    ours = [comparable(run) for run in convert_nemogym_jsonl_file_to_agent_runs(path)]
    theirs = [
        comparable(run) for run in docent_nemogym.convert_nemogym_jsonl_file_to_agent_runs(path)
    ]
    assert ours == theirs
    assert len(ours) == len(list(jsonl_records(path)))

"""Byte-level fuzzing of the JSONL reader against Docent's file converter.

Docent's converter reads text mode (universal newlines), strips each line and parses it with
``json.loads``; ours reads bytes. Whatever the bytes, ours returns the same runs, or raises
``ConversionError`` naming the file and the line (the same line wherever Docent names one).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from docent.sdk.integrations import nemogym as docent_nemogym
from docent.sdk.integrations.util import ConversionError as DocentConversionError
from hypothesis import given, settings
from hypothesis import strategies as st
from parity import comparable
from strategies import examples, rollouts

import nemogym_docent
from nemogym_docent import ConversionError

WHITESPACE = [" ", "\t", "\x0b", "\x0c", "\x1c", "\x85", "\xa0", "\u2028", "\u3000", "\ufeff"]
ENDINGS = [b"\n", b"\r\n", b"\r"]
NOT_ROLLOUTS = [b"<PLACEHOLDER ROW>", b"[]", b"1", b'"x"', b"null", b"{", b"{}", b"{'a': 1}"]
SPECIAL_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e400", "-0", "1E-400", "123456789012345678901"]
INVALID_UTF8 = [b"\xff", b"\x80", b"\xc3", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]
DEPTHS = [100, 490, 500, 900, 1000, 5000, 100_000]
NEAR_RECURSION_LIMIT = range(400, 1100)
"""Nesting depths where Docent's converter fails or not depending on the caller's stack."""
PLACEHOLDER = "__FUZZ_VALUE__"


def _dump(rollout: dict[str, Any], ascii_only: bool, compact: bool) -> bytes:
    separators = (",", ":") if compact else (", ", ": ")
    text = json.dumps(rollout, ensure_ascii=ascii_only, separators=separators)
    return text.encode("utf-8", "surrogatepass")


@st.composite
def rollout_lines(draw: st.DrawFn) -> bytes:
    """A rollout line, sometimes with a value spliced in that Python's ``json`` cannot write."""
    rollout = draw(rollouts())
    kind = draw(st.sampled_from(["plain", "number", "deep", "huge", "duplicate_key"]))
    if kind == "huge":
        rollout["payload"] = "x" * draw(st.sampled_from([70_000, 300_000]))
    elif kind in ("number", "deep"):
        rollout["reward"] = PLACEHOLDER
    line = _dump(rollout, draw(st.booleans()), draw(st.booleans()))
    if kind == "number":
        spliced = draw(st.sampled_from(SPECIAL_NUMBERS))
    elif kind == "deep":
        depth = draw(st.sampled_from(DEPTHS))
        spliced = "[" * depth + "]" * depth
    else:
        spliced = None
    if spliced is not None:
        line = line.replace(json.dumps(PLACEHOLDER).encode(), spliced.encode(), 1)
    if kind == "duplicate_key":
        duplicate = b'"_ng_task_index": "not an integer"'
        if draw(st.booleans()):
            line = b"{" + duplicate + b", " + line[1:]  # the later, valid key wins
        else:
            line = line[:-1] + b", " + duplicate + b"}"  # the later, invalid key wins
    padding = draw(st.sampled_from(["", *WHITESPACE])).encode()
    return padding + line + padding


line_contents = (
    rollout_lines()
    | st.sampled_from(NOT_ROLLOUTS)
    | st.lists(st.sampled_from(WHITESPACE), max_size=3).map(lambda chars: "".join(chars).encode())
)


@st.composite
def jsonl_files(draw: st.DrawFn) -> bytes:
    """A few lines with mixed line endings, then perhaps one byte-level fault."""
    lines = draw(st.lists(line_contents, max_size=3))
    data = b"".join(line + draw(st.sampled_from(ENDINGS)) for line in lines)
    fault = draw(st.sampled_from(["none", "truncate", "invalid_utf8", "bom", "cut_ending"]))
    if fault == "truncate" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif fault == "invalid_utf8":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from(INVALID_UTF8)) + data[at:]
    elif fault == "bom":
        data = b"\xef\xbb\xbf" + data
    elif fault == "cut_ending":
        data = data.rstrip(b"\r\n")
    return data


def near_recursion_limit(data: bytes) -> bool:
    """Whether some array in ``data`` nests about as deep as Python's recursion limit."""
    return any(len(run) in NEAR_RECURSION_LIMIT for run in re.findall(rb"\[+", data))


def docent_line(exc: DocentConversionError, path: Path) -> int:
    """The line number in one of Docent's file errors."""
    found = re.match(r"(?:invalid JSON on )?line (\d+)", str(exc).removeprefix(f"{path}: "))
    assert found, f"no line number in Docent's error: {exc}"
    return int(found.group(1))


@pytest.fixture(scope="module")
def jsonl_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "rollouts.jsonl"


@settings(max_examples=examples(150))
@given(data=jsonl_files())
def test_any_bytes_convert_as_docent_does_or_fail_at_a_line(jsonl_path: Path, data: bytes) -> None:
    jsonl_path.write_bytes(data)
    expected: list[dict[str, Any]] | None = None
    expected_line: int | None = None
    try:
        expected = [
            comparable(run)
            for run in docent_nemogym.convert_nemogym_jsonl_file_to_agent_runs(jsonl_path)
        ]
    except DocentConversionError as exc:
        expected_line = docent_line(exc, jsonl_path)
    except (UnicodeDecodeError, RecursionError, ValueError):
        pass  # Docent's converter escapes with another exception; ours must not
    # Near the recursion limit either verdict is right, and even dumping a run may fail.
    if near_recursion_limit(data):
        try:
            nemogym_docent.convert_nemogym_jsonl_file_to_agent_runs(jsonl_path)
        except ConversionError as exc:
            assert_located(exc, jsonl_path)
    elif expected is None:
        with pytest.raises(ConversionError) as refused:
            nemogym_docent.convert_nemogym_jsonl_file_to_agent_runs(jsonl_path)
        assert_located(refused.value, jsonl_path)
        assert expected_line in (None, refused.value.line)
    else:
        runs = nemogym_docent.convert_nemogym_jsonl_file_to_agent_runs(jsonl_path)
        assert [comparable(run) for run in runs] == expected


def assert_located(exc: ConversionError, path: Path) -> None:
    assert exc.file == str(path)
    assert exc.line is not None
    assert str(exc).startswith(f"{path}:{exc.line}: ")


@settings(max_examples=examples(100))
@given(data=jsonl_files())
def test_full_detail_reads_the_same_lines(jsonl_path: Path, data: bytes) -> None:
    """Full detail converts a file exactly when the default detail does, or fails at its line."""
    jsonl_path.write_bytes(data)
    if near_recursion_limit(data):
        return
    assert converted_names(jsonl_path, "full") == converted_names(jsonl_path, "docent")


def converted_names(path: Path, detail: str) -> list[str | None] | tuple[int | None, str]:
    """The names of a file's runs, or where converting it failed."""
    try:
        runs = nemogym_docent.convert_nemogym_jsonl_file_to_agent_runs(path, detail=detail)
    except ConversionError as exc:
        return exc.line, exc.json_path
    return [run.name for run in runs]

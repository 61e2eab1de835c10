"""Differential tests: ours and Docent's converter agree on every example and corpus record."""

from __future__ import annotations

from pathlib import Path

import pytest
from docent.sdk.integrations import nemogym as docent_nemogym
from docent.sdk.integrations.util import ConversionError as DocentConversionError
from parity import EXAMPLES, FIXTURES, assert_parity, comparable, corpus_files, jsonl_records

import nemogym_docent
from nemogym_docent import ConversionError

FIXTURE_FILES = [EXAMPLES, *sorted(FIXTURES.glob("*.jsonl"))]


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda path: path.name)
def test_fixture_records_match_docent(path: Path) -> None:
    records = list(jsonl_records(path))
    assert records
    for _, record in records:
        assert_parity(record)


def test_examples_all_convert() -> None:
    runs = nemogym_docent.convert_nemogym_jsonl_file_to_agent_runs(EXAMPLES)
    expected = docent_nemogym.convert_nemogym_jsonl_file_to_agent_runs(EXAMPLES)
    assert [comparable(run) for run in runs] == [comparable(run) for run in expected]


@pytest.mark.parametrize("path", corpus_files(), ids=lambda path: path.name)
def test_corpus_records_match_docent(path: Path) -> None:
    for number, record in jsonl_records(path):
        try:
            assert_parity(record)
        except AssertionError as exc:
            raise AssertionError(f"{path.name} line {number}: {exc}") from exc


@pytest.mark.parametrize("path", corpus_files(), ids=lambda path: path.name)
def test_corpus_files_match_docent(path: Path) -> None:
    try:
        expected = [
            comparable(run) for run in docent_nemogym.convert_nemogym_jsonl_file_to_agent_runs(path)
        ]
    except DocentConversionError:
        with pytest.raises(ConversionError) as raised:
            nemogym_docent.convert_nemogym_jsonl_file_to_agent_runs(path)
        assert raised.value.file == str(path)
        assert raised.value.line is not None
        return
    actual = nemogym_docent.convert_nemogym_jsonl_file_to_agent_runs(path)
    assert [comparable(run) for run in actual] == expected


def test_corpus_present_or_skipped(corpus_dir: Path) -> None:
    assert corpus_files(), "the corpus folder exists but holds no JSONL files"

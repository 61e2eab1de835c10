"""Docent's own ingestion checker finds nothing lost beyond what the mapping declares.

``check_ingestion_sanity`` perturbs source values and reports those whose change left the AgentRun
unchanged. Its findings are leads: a value changed together with others (booleans especially) is
reported even when the run did change. So each reported value must either be a declared loss
(``declared_losses``), or change the run when it alone is perturbed.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from declared_losses import CONTENT_KINDS, declared_loss, is_empty
from docent.data_models.agent_run import AgentRun
from docent.data_models.ingestion_sanity import IngestionSanityReport, check_ingestion_sanity
from parity import EXAMPLES, FIXTURES, comparable, corpus_files, jsonl_records, spec_examples
from strategies import Path

import nemogym_docent
from nemogym_docent import ConversionError

_PATH_PART = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def parse_checker_path(text: str) -> Path:
    """``a.b[2]["odd key"]`` as ``("a", "b", 2, "odd key")``."""
    parts: list[str | int] = []
    position = 0
    while position < len(text):
        match = _PATH_PART.match(text, position)
        assert match, f"cannot read the checker's path {text!r}"
        name, index, quoted = match.groups()
        parts.append(name if name is not None else int(index) if index else json.loads(quoted))
        position = match.end()
    return tuple(parts)


def value_at(value: Any, path: Path) -> Any:
    for part in path:
        value = value[part]
    return value


def perturbed(value: Any) -> Any:
    """A different value of the same JSON type."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 1 if abs(value) < 1e15 else -value
    if isinstance(value, str):
        return value + "\u2603"
    return ["\u2603"]


def converter(detail: str) -> Callable[[Any], AgentRun]:
    return functools.partial(nemogym_docent.convert_nemogym_rollout_to_agent_run, detail=detail)


def run_changes(record: dict[str, Any], path: Path, detail: str) -> bool:
    """Whether perturbing the value at ``path`` alone changes the record's AgentRun."""
    convert = converter(detail)
    before = comparable(convert(record))
    changed = copy.deepcopy(record)
    value_at(changed, path[:-1])[path[-1]] = perturbed(value_at(record, path))
    try:
        after = comparable(convert(changed))
    except ConversionError:
        return True  # the value decides whether the record converts
    return after != before


def accepted_records() -> list[dict[str, Any]]:
    sources = [jsonl_records(path) for path in [EXAMPLES, *sorted(FIXTURES.glob("*.jsonl"))]]
    sources.extend(jsonl_records(path) for path in corpus_files())
    sources.append(enumerate(json.loads(path.read_text("utf-8")) for path in spec_examples()))
    records = []
    for source in sources:
        for _, record in source:
            try:
                nemogym_docent.convert_nemogym_rollout_to_agent_run(record)
            except ConversionError:
                continue
            records.append(record)
    return records


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return accepted_records()


@pytest.fixture(scope="module", params=["docent", "full"])
def detail(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def report(records: list[dict[str, Any]], detail: str) -> IngestionSanityReport:
    return check_ingestion_sanity(records, converter(detail), show_progress=False)


def test_the_checker_ran_on_real_records(
    records: list[dict[str, Any]], report: IngestionSanityReport
) -> None:
    assert report.record_count == len(records) > 0
    assert report.categories_probed > 0


def test_the_converter_neither_fails_nor_mutates_nor_varies(report: IngestionSanityReport) -> None:
    assert [finding for finding in report.findings if finding.kind not in CONTENT_KINDS] == []


def test_every_finding_is_a_declared_loss_or_an_unisolated_lead(
    records: list[dict[str, Any]], report: IngestionSanityReport, detail: str
) -> None:
    undeclared = []
    probed: dict[tuple[int, Path], bool] = {}
    for finding in report.findings:
        for example in finding.examples:
            record = records[example.record_index]
            for text in example.absent_paths or (example.path,):
                path = parse_checker_path(text)
                value = value_at(record, path)
                if is_empty(value) or declared_loss(record, path, detail) is not None:
                    continue
                key = (example.record_index, path)
                if key not in probed:
                    probed[key] = run_changes(record, path, detail)
                if not probed[key]:
                    undeclared.append(f"record {example.record_index}: {text} ({finding.kind})")
    assert undeclared == []

"""Full detail on every real record and every spec example: what it must hold, checked independently
of the mapping's own code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from parity import comparable, corpus_files, jsonl_records, spec_examples

import nemogym_docent
from nemogym_docent import ConversionError
from nemogym_docent.identity import VERDICT_KEYS

JUDGE_SOURCES = ("judge_evaluations", "judge_evaluation", "quality_judge_evaluation")


def records() -> Iterator[tuple[str, Any]]:
    for path in corpus_files():
        for number, record in jsonl_records(path):
            yield f"{path.name}:{number}", record
    for path in spec_examples():
        yield path.name, json.loads(path.read_text("utf-8"))


def has_request_and_response(record: Any) -> bool:
    return (
        isinstance(record, dict)
        and isinstance(record.get("responses_create_params"), dict)
        and isinstance(record.get("response"), dict)
    )


def converts(record: Any, **options: Any) -> dict[str, Any] | None:
    try:
        return comparable(nemogym_docent.convert_nemogym_rollout_to_agent_run(record, **options))
    except ConversionError:
        return None


def expected_metrics(record: dict[str, Any]) -> dict[str, Any]:
    """NeMo Gym's per-rollout metrics of a record (its rule, minus the ``_ng_*`` keys and the
    verdict on the reward)."""
    return {
        key: value
        for key, value in record.items()
        if type(value) in (int, float, bool)
        and key not in ("reward", *VERDICT_KEYS)
        and not key.startswith("_ng_")
    }


def judge_exchange_count(record: dict[str, Any]) -> int:
    count = 0
    for key in JUDGE_SOURCES:
        value = record.get(key)
        entries = value if isinstance(value, list) else [value]
        count += sum(isinstance(entry, dict) for entry in entries)
    return count


def test_there_are_records_to_check() -> None:
    if not corpus_files() and not spec_examples():
        pytest.skip("../shared is not present")
    assert any(True for _ in records())


def test_strict_full_converts_exactly_what_strict_converts() -> None:
    for label, record in records():
        strict = converts(record)
        strict_full = converts(record, detail="full")
        assert (strict is None) == (strict_full is None), label
        if strict is not None and strict_full is not None:
            assert strict_full["transcripts"][0]["name"] == strict["transcripts"][0]["name"]


def test_lenient_converts_every_record_with_a_request_and_a_response() -> None:
    for label, record in records():
        if has_request_and_response(record):
            assert converts(record, strict=False) is not None, label
            assert converts(record, strict=False, detail="full") is not None, label


def test_full_detail_holds_every_metric_judge_and_instruction() -> None:
    checked = 0
    for label, record in records():
        run = converts(record, strict=False, detail="full")
        if run is None:
            continue
        checked += 1
        scores = run["metadata"].get("scores", {})
        for key, value in expected_metrics(record).items():
            assert scores.get(key, not value) == value, f"{label}: {key}"
        judges = [
            transcript
            for transcript in run["transcripts"]
            if transcript["metadata"]["source"]["schema"] == "nemo_gym_judge_exchange"
        ]
        assert len(judges) == judge_exchange_count(record), label
        instructions = record["responses_create_params"].get("instructions")
        if isinstance(instructions, str) and instructions:
            first = run["transcripts"][0]["messages"][0]
            assert (first["role"], first["content"]) == ("system", instructions), label
        trajectory = record.get("ng_trajectory")
        if isinstance(trajectory, dict):
            invocations = trajectory.get("invocations") or []
            shown = len(run["transcripts"]) - 1 - len(judges)
            main = "invocation" in run["transcripts"][0]["metadata"]
            assert shown + main == len(invocations), label
    assert checked > 0 or not (corpus_files() or spec_examples())

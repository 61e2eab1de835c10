"""Run a rollout through Docent's converter (the oracle) and ours, and compare the results."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from docent.data_models.agent_run import AgentRun
from docent.sdk.integrations import nemogym as docent_nemogym
from docent.sdk.integrations.util import ConversionError as DocentConversionError

import nemogym_docent
from nemogym_docent import ConversionError

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
EXAMPLES = REPO / "examples" / "rollouts.jsonl"
FIXTURES = REPO / "tests" / "fixtures"
SPEC_EXAMPLES = REPO.parent / "shared" / "spec" / "examples"


def comparable(run: AgentRun) -> dict[str, Any]:
    """The run as JSON, without the random ids of the run and its transcripts."""
    dumped = run.model_dump(mode="json")
    dumped.pop("id")
    for transcript in dumped["transcripts"]:
        transcript.pop("id")
    return dumped


def docent_converts(rollout: Any) -> dict[str, Any] | None:
    """Docent's AgentRun for a rollout, or None when Docent's converter refuses it."""
    try:
        return comparable(docent_nemogym.convert_nemogym_rollout_to_agent_run(rollout))
    except DocentConversionError:
        return None


def ours_converts(rollout: Any) -> dict[str, Any] | None:
    """Our AgentRun for a rollout, or None on ConversionError (any other exception propagates)."""
    try:
        return comparable(nemogym_docent.convert_nemogym_rollout_to_agent_run(rollout))
    except ConversionError:
        return None


def assert_parity(rollout: Any) -> dict[str, Any] | None:
    """Both converters accept with equal runs, or both refuse; returns the run (None if refused)."""
    expected = docent_converts(rollout)
    actual = ours_converts(rollout)
    if expected is None:
        assert actual is None, "Docent's converter refuses this rollout, ours accepted it"
    else:
        assert actual is not None, "Docent's converter accepts this rollout, ours refused it"
        assert actual == expected
    return actual


def jsonl_records(path: Path) -> Iterator[tuple[int, Any]]:
    """Every line of a JSONL file that parses as JSON, with its line number."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError:
                continue


def spec_examples() -> list[Path]:
    """The hand-made records of the newest format's spec, or an empty list where it is absent."""
    return sorted(SPEC_EXAMPLES.glob("*.json")) if SPEC_EXAMPLES.is_dir() else []


def corpus_files() -> list[Path]:
    """The shared corpus files, or an empty list where the corpus is absent."""
    return sorted(CORPUS.glob("*.jsonl")) if CORPUS.is_dir() else []


def zero_point_seven_corpus_files() -> list[Path]:
    """The corpus files its README lists as NeMo Gym 0.7 examples (none without the corpus)."""
    readme = CORPUS / "README.md"
    if not readme.is_file():
        return []
    listed = readme.read_text("utf-8").split("NeMo Gym 0.7.0", 1)[-1]
    names = [line.strip()[3:-1] for line in listed.splitlines() if line.startswith("- `")]
    return [CORPUS / name for name in names]

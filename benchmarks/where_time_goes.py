"""Where does one valid record's time go, in our converter and in Docent's?

Run from the repository root: ``.venv/bin/python benchmarks/where_time_goes.py [--quick]``.
On the first 1,500 records of each valid data set (see ``valid_records.py``), each step alone,
best of ``--repeat`` (CPU time), in µs per record. Docent's converter: ``json.loads``, then its
conversion, of which building the AgentRun from plain values. Ours: parsing (msgspec, which our
reader uses), then the conversion, of which the steps that the design and the output require
whatever code surrounds them:

- validating against the generated models (``nemogym_docent.models``; the schema-first design);
- building Docent's AgentRun once from plain values, with the random ids Docent's models fill in
  (the cheapest way to build one; Docent's converter does the same);
- dropping empty values from the request, the response and the other top-level fields, which
  the run's metadata keeps (Docent's layout).

What is left is the mapping itself (turns, tool-call wiring, message details, names): its
target is at most 15 % of the required steps. Both conversions are timed again with their runs
kept in a list, as the list functions keep them: what holding the runs costs. This file alone
reaches inside the package, for the one step that has no public name (dropping empty values).
"""

from __future__ import annotations

import gc
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import msgspec
from _common import (
    Dataset,
    Timing,
    Verdict,
    footer,
    frozen_inputs,
    header,
    print_table,
    report_verdicts,
    settings,
    timed,
    valid_datasets,
)
from docent.data_models.agent_run import AgentRun
from docent.sdk.integrations import nemogym as docent

import nemogym_docent
from nemogym_docent.mapping.cleaning import drop_empty_values
from nemogym_docent.models import NemoGymRollout, StrictRollout

SPLIT_RECORDS = 1500
MAPPING_SHARE = 0.15
STRICT_FIRST = "of which: strict models tried first"
KEPT = " (GC paused)"
LIST = f", the runs kept in a list{KEPT}"
# Fields Docent's models fill with fresh random ids: left out of a dump, so that building the
# run again from it fills them as a conversion does.
_RANDOM_IDS: Any = {
    "id": True,
    "transcripts": {"__all__": {"id"}},
    "transcript_groups": {"__all__": {"id"}},
}


@dataclass(frozen=True)
class Split:
    """µs per record of each step, and the sums the report draws from them."""

    steps: dict[str, float]
    ours: float
    required: float
    docent: float | None

    @property
    def mapping(self) -> float:
        return self.ours - self.required


def split(lines: list[bytes], repeat: int, *, strict: bool = True, detail: str = "docent") -> Split:
    """Time each step on ``lines`` (records that convert in this mode)."""
    decode = msgspec.json.Decoder().decode
    records = [json.loads(line) for line in lines]
    models = StrictRollout if strict else NemoGymRollout

    def convert(record: dict[str, Any]) -> AgentRun:
        return nemogym_docent.convert_nemogym_rollout_to_agent_run(
            record,
            strict=strict,
            detail=detail,  # type: ignore[arg-type]
        )

    dumps = [convert(record).model_dump(exclude=_RANDOM_IDS) for record in records]
    kept = [_kept_fields(record) for record in records]
    # Each step over its inputs, the results dropped as they come (as a stream does), and the
    # two conversions again with their runs kept in a list, as the list functions keep them.
    steps: dict[str, tuple[Callable[[Any], object], list[Any]]] = {}
    if strict and detail == "docent":
        steps["Docent: json.loads"] = (json.loads, lines)
        steps["Docent: convert"] = (docent.convert_nemogym_rollout_to_agent_run, records)
    steps["ours: parse"] = (lambda line: decode(line.strip()), lines)
    steps["ours: convert"] = (convert, records)
    if not strict:
        steps[STRICT_FIRST] = (lambda record: _refused_or_model(StrictRollout, record), records)
    steps[f"of which: validate ({models.__name__})"] = (models.model_validate, records)
    steps["of which: AgentRun built once"] = (AgentRun.model_validate, dumps)
    steps["of which: drop empty values"] = (drop_empty_values, kept)
    for name in ("Docent: convert", "ours: convert"):
        if name in steps:
            steps[f"{name}{LIST}"] = steps[name]
    with frozen_inputs():
        timings = {name: Timing() for name in steps}
        for _ in range(repeat):
            for name, (step, values) in steps.items():
                timed(partial(_each if KEPT not in name else _kept, step, values), timings[name])
    per_record = {name: t.best / len(records) * 1e6 for name, t in timings.items()}
    required = per_record["ours: parse"] + sum(
        us for name, us in per_record.items() if name.startswith("of which: ")
    )
    if not strict:  # the strict attempt is the lenient mode's own work, not a required step
        required -= per_record[STRICT_FIRST]
    docent_us = None
    if "Docent: convert" in per_record:
        docent_us = per_record["Docent: json.loads"] + per_record["Docent: convert"]
    ours = per_record["ours: parse"] + per_record["ours: convert"]
    return Split(per_record, ours, required, docent_us)


def _each(step: Callable[[Any], object], values: list[Any]) -> None:
    for value in values:
        step(value)


def _kept(step: Callable[[Any], object], values: list[Any]) -> list[object]:
    """Every result kept, the cyclic collector paused (as ``convert_…_to_agent_runs`` does)."""
    gc.disable()
    try:
        return [step(value) for value in values]
    finally:
        gc.enable()


def _kept_fields(record: dict[str, Any]) -> dict[str, Any]:
    """What the run's metadata keeps of a rollout, before its empty values are dropped."""

    def without(value: Any, *keys: str) -> Any:
        if not isinstance(value, dict):
            return value
        return {key: child for key, child in value.items() if key not in keys}

    return {
        "request": without(record["responses_create_params"], "input"),
        "response": without(record["response"], "output"),
        "benchmark_fields": without(record, "responses_create_params", "response"),
    }


def _refused_or_model(models: type[StrictRollout], record: dict[str, Any]) -> object:
    try:
        return models.model_validate(record)
    except ValueError:
        return None


def report_split(name: str, result: Split) -> None:
    print(f"\nWhere the time goes, {name} (µs per record, first {SPLIT_RECORDS:,} records):\n")
    rows = [[step, f"{us:.0f}"] for step, us in result.steps.items()]
    beyond = "the mapping and the strict attempt" if STRICT_FIRST in result.steps else "the mapping"
    rows.append([f"ours: beyond the required steps ({beyond})", f"{result.mapping:.0f}"])
    print_table(["step", "µs"], rows)
    share = result.mapping / result.required
    text = (
        f"\nOurs parses and converts a record in {result.ours:.0f} µs; the required steps "
        f"(parse, validate, AgentRun built once, drop empty values) take {result.required:.0f} "
        f"µs, and the mapping {result.mapping:.0f} µs more ({share:.0%} of them)."
    )
    if result.docent is not None:
        text += (
            f" Docent parses and converts it in {result.docent:.0f} µs: "
            f"{result.docent / result.ours:.2f}× ours; 4.5× leaves {result.docent / 4.5:.0f} µs, "
            f"and the required steps alone allow at most {result.docent / result.required:.2f}×."
        )
    kept = {
        who: result.steps[f"{who}: convert{LIST}"] - result.steps[f"{who}: convert"]
        for who in ("ours", "Docent")
        if f"{who}: convert{LIST}" in result.steps
    }
    text += (
        " Keeping the runs in a list (as the list functions do) adds "
        + " and ".join(f"{us:.0f} µs a run to {who}" for who, us in kept.items())
        + ": the runs live on, so each is built in fresh memory instead of the last one's."
    )
    print(text)


def verdict(name: str, result: Split) -> Verdict:
    share = result.mapping / result.required
    return Verdict(
        f"{name}: mapping beyond the required steps ≤ {MAPPING_SHARE:.0%} of them",
        f"{result.mapping:.0f} µs of {result.required:.0f} ({share:.0%})",
        share <= MAPPING_SHARE,
    )


def main() -> None:
    options = settings(__doc__.splitlines()[0])
    header("Where one valid record's time goes", f"Best of {options.repeat} runs, CPU time.")
    verdicts = []
    with tempfile.TemporaryDirectory(prefix="nemogym-bench-") as work:
        datasets: list[Dataset] = valid_datasets(Path(work), options.mb)
        for data in datasets:
            result = split(data.lines[:SPLIT_RECORDS], options.repeat)
            report_split(data.name, result)
            verdicts.append(verdict(data.name.split(",")[0], result))
    report_verdicts(options, verdicts)
    footer()


if __name__ == "__main__":
    main()

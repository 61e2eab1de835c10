"""How fast do valid records convert, against Docent's converter on the same records?

Run from the repository root: ``.venv/bin/python benchmarks/valid_records.py [--quick]``.
In one process, on the same valid records, interleaved and repeated (the least CPU time counts):
``orjson.loads`` alone (the floor), converting parsed dicts, converting a JSONL file to a list
of AgentRuns and as a stream (the iterator), and ``validate_nemogym_rollout``; each against
Docent's converter. The file rows run with no object frozen out of the collector's scans, as
in a user's process (the list function moves its runs to the collector's oldest generation,
which it cannot do without releasing the objects a process froze). Data:
``examples/rollouts.jsonl`` replicated to ``--mb``, and the ``../shared/corpus`` records that
Docent's converter accepts, replicated likewise.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from _common import (
    MB,
    Dataset,
    Timing,
    Verdict,
    footer,
    frozen_inputs,
    header,
    interleaved,
    print_table,
    report_verdicts,
    settings,
    valid_datasets,
)
from docent.sdk.integrations import nemogym as docent

import nemogym_docent

TARGET = 4.5
VALIDATED_RECORDS = 200


def measure(data: Dataset, repeat: int, validated: int) -> dict[str, Timing]:
    """The dict rows, then the file rows (see each)."""
    return _measure_dicts(data, repeat, validated) | _measure_files(data, repeat)


def _measure_dicts(data: Dataset, repeat: int, validated: int) -> dict[str, Timing]:
    """Parsing, converting dicts and validating, the parsed records frozen out of the
    collector's scans (the harness holds them, not the converters)."""
    records = [orjson.loads(line) for line in data.lines]
    subset = records[:validated]

    def each(convert: Callable[[Any], object], values: list[Any]) -> None:
        for value in values:
            convert(value)

    with frozen_inputs():
        return interleaved(
            {
                "orjson.loads": lambda: each(orjson.loads, data.lines),
                "ours dicts": lambda: each(
                    nemogym_docent.convert_nemogym_rollout_to_agent_run, records
                ),
                "docent dicts": lambda: each(docent.convert_nemogym_rollout_to_agent_run, records),
                "ours validate": lambda: each(nemogym_docent.validate_nemogym_rollout, subset),
            },
            repeat,
        )


def _measure_files(data: Dataset, repeat: int) -> dict[str, Timing]:
    """The file functions with nothing frozen, as in a user's process: the harness holds only
    the lines (bytes, which the collector does not track)."""
    path = data.path
    return interleaved(
        {
            "ours file": lambda: nemogym_docent.convert_nemogym_jsonl_file_to_agent_runs(path),
            "docent file": lambda: docent.convert_nemogym_jsonl_file_to_agent_runs(path),
            "ours streamed": lambda: sum(
                1 for _ in nemogym_docent.iter_nemogym_jsonl_file_to_agent_runs(path)
            ),
        },
        repeat,
    )


def report(data: Dataset, timings: dict[str, Timing], validated: int) -> list[Verdict]:
    count, size = len(data.lines), data.size
    print(f"\n### {data.name}: {count:,} records, {size / MB:.1f} MB\n")

    def speed(seconds: float, records: int = count, nbytes: int = size) -> str:
        return f"{records / seconds:,.0f} ({nbytes / MB / seconds:.1f})"

    floor = timings["orjson.loads"].best
    docent_file = timings["docent file"].best
    rows = [["orjson.loads alone (the floor)", speed(floor), "", "", "1.0×"]]
    ratios = {}
    for label, ours, theirs in [
        ("dicts → AgentRuns", "ours dicts", "docent dicts"),
        ("JSONL file → list of AgentRuns", "ours file", "docent file"),
        ("JSONL file → AgentRuns, streamed (iterator)", "ours streamed", None),
    ]:
        ours_s = timings[ours].best
        theirs_s = docent_file if theirs is None else timings[theirs].best
        ratios[ours] = theirs_s / ours_s
        shown = "(list, as above)" if theirs is None else speed(theirs_s)
        rows.append([label, speed(ours_s), shown, f"{ratios[ours]:.2f}×", f"{ours_s / floor:.1f}×"])
    validated_size = sum(len(line) + 1 for line in data.lines[:validated])
    validate = speed(timings["ours validate"].best, validated, validated_size)
    rows.append([f"validate_nemogym_rollout (first {validated:,} records)", validate, "", "", ""])
    print_table(
        ["what", "ours: records/s (MB/s)", "Docent: records/s (MB/s)", "ours/Docent", "÷ orjson"],
        rows,
    )
    reference = validated_size / MB / timings["ours validate"].best
    print(
        f"\nvalidate_nemogym_rollout (python-jsonschema, the reference): {reference:.2f} MB/s, "
        f"Docent's converter {size / MB / timings['docent dicts'].best:.1f} MB/s. "
        "`nemogym-docent validate` asks it only to explain the records the generated models "
        "refuse (see invalid_heavy.py)."
    )
    short = data.name.split(",")[0]
    within = timings["ours file"].best / floor
    return [
        Verdict(
            f"{short}: file → list of AgentRuns ≥ {TARGET}× Docent's converter",
            f"{ratios['ours file']:.2f}×",
            ratios["ours file"] >= TARGET,
        ),
        Verdict(
            f"{short}: file → AgentRuns, streamed ≥ {TARGET}× Docent's converter (list)",
            f"{ratios['ours streamed']:.2f}×",
            ratios["ours streamed"] >= TARGET,
        ),
        Verdict(
            f"{short}: file → list within 3× of orjson.loads alone (older, looser goal)",
            f"{within:.1f}× its time",
            within <= 3,
        ),
    ]


def main() -> None:
    options = settings(__doc__.splitlines()[0])
    header(
        "Valid records against Docent's converter",
        f"Best of {options.repeat} interleaved runs, CPU time; records/s count records, "
        "MB/s count JSONL bytes.",
    )
    verdicts = []
    with tempfile.TemporaryDirectory(prefix="nemogym-bench-") as work:
        for data in valid_datasets(Path(work), options.mb):
            validated = min(len(data.lines), 3 if options.quick else VALIDATED_RECORDS)
            verdicts += report(data, measure(data, options.repeat, validated), validated)
    report_verdicts(options, verdicts)
    footer()


if __name__ == "__main__":
    main()

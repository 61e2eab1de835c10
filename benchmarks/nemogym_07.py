"""How fast do the NeMo Gym 0.7 example exports convert, leniently and in full detail?

Run from the repository root: ``.venv/bin/python benchmarks/nemogym_07.py [--quick]``.
The files that ``../shared/corpus/README.md`` lists as NeMo Gym 0.7 examples: every record that
converts with ``strict=False, detail="full"``, replicated to ``--mb``. Docent's converter
refuses most of them, so there is no ratio: it times converting a JSONL file to a list and as a
stream, then where one record's time goes (as ``where_time_goes.py``, with the lenient mode's
first, strict attempt shown apart). Skipped, in one line, without the corpus.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from _common import (
    CORPUS,
    MB,
    Timing,
    Verdict,
    footer,
    frozen_inputs,
    header,
    interleaved,
    print_table,
    replicated_lines,
    report_verdicts,
    settings,
    write_lines,
)
from where_time_goes import SPLIT_RECORDS, report_split, split

import nemogym_docent

OPTIONS: dict[str, Any] = {"strict": False, "detail": "full"}


def files_of_0_7() -> list[Path]:
    """The corpus files that its README lists under NeMo Gym 0.7."""
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    _, _, section = readme.partition("0.7")
    names = re.findall(r"^- `([^`]+\.jsonl)`", section, flags=re.MULTILINE)
    return [CORPUS / name for name in names if (CORPUS / name).is_file()]


def converting_records(paths: list[Path]) -> list[dict[str, Any]]:
    records = []
    for path in paths:
        for raw in path.read_bytes().splitlines():
            try:
                record = json.loads(raw)
                nemogym_docent.convert_nemogym_rollout_to_agent_run(record, **OPTIONS)
            except (ValueError, nemogym_docent.ConversionError):
                continue
            records.append(record)
    return records


def main() -> None:
    options = settings(__doc__.splitlines()[0])
    if not (CORPUS / "README.md").is_file():
        print("nemogym_07: skipped (../shared/corpus is absent)")
        return
    paths = files_of_0_7()
    records = converting_records(paths)
    header(
        "NeMo Gym 0.7 example exports, lenient, full detail",
        f"{len(records)} records of {len(paths)} files convert; best of {options.repeat} "
        "interleaved runs, CPU time.",
    )
    with tempfile.TemporaryDirectory(prefix="nemogym-bench-") as work:
        path = Path(work) / "nemogym_07.jsonl"
        lines = write_lines(path, replicated_lines(records, int(options.mb * MB)))
        size = sum(len(line) + 1 for line in lines)
        with frozen_inputs():
            timings: dict[str, Timing] = interleaved(
                {
                    "JSONL file → list of AgentRuns": lambda: (
                        nemogym_docent.convert_nemogym_jsonl_file_to_agent_runs(path, **OPTIONS)
                    ),
                    "JSONL file → AgentRuns, streamed (iterator)": lambda: sum(
                        1
                        for _ in nemogym_docent.iter_nemogym_jsonl_file_to_agent_runs(
                            path, **OPTIONS
                        )
                    ),
                },
                options.repeat,
            )
        print(f"\n### {len(lines):,} records, {size / MB:.1f} MB\n")
        print_table(
            ["what", "records/s (MB/s)"],
            [
                [name, f"{len(lines) / t.best:,.0f} ({size / MB / t.best:.1f})"]
                for name, t in timings.items()
            ],
        )
        result = split(lines[:SPLIT_RECORDS], options.repeat, **OPTIONS)
        report_split("the NeMo Gym 0.7 examples, lenient, full detail", result)
    report_verdicts(
        options,
        [
            Verdict(
                "NeMo Gym 0.7 shapes (lenient, full detail) measured, with where the time goes",
                f"{len(lines) / timings['JSONL file → list of AgentRuns'].best:,.0f} records/s; "
                f"mapping {result.mapping:.0f} µs of {result.ours:.0f}",
                True,
            )
        ],
    )
    footer()


if __name__ == "__main__":
    main()

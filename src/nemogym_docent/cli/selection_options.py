"""The selection options of ``convert``, ``upload`` and ``summary`` (light: nothing heavy is
loaded, so that ``--help`` stays quick)."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

Where = Annotated[
    list[str] | None,
    typer.Option(
        "--where",
        metavar="EXPR",
        help="Only rollouts where EXPR holds, e.g. 'reward < 1' or "
        "'agent_ref.name == \"math_agent\"' (repeatable: all must hold; a missing path is "
        "false). See docs/selection.md.",
    ),
]
Sample = Annotated[
    int | None,
    typer.Option(
        "--sample",
        min=0,
        metavar="N",
        help="A uniform random sample of N of the selected rollouts, in input order.",
    ),
]
Seed = Annotated[
    int, typer.Option("--seed", metavar="S", help="The sample's seed: same seed, same sample.")
]
PerTask = Annotated[
    int | None,
    typer.Option(
        "--per-task", min=1, metavar="N", help="At most the first N rollouts of each task."
    ),
]
Contrast = Annotated[
    bool,
    typer.Option(
        "--contrast",
        help="Only tasks whose rollouts disagree on reward (reads the inputs twice).",
    ),
]
GroupBy = Annotated[
    Literal["task"] | None,
    typer.Option(
        "--group-by",
        help="task: give runs of one task the same metadata.nemogym.task_key and task_group "
        "(size, reward range) to group on in Docent (reads the inputs twice).",
    ),
]

SummaryFormat = Literal["text", "json"]

"""Every option of the commands, declared once; options that several commands take come in
groups (dataclasses), which ``grouped`` spreads into a command's signature and packs back.

Light: nothing heavy is imported, so that ``--help`` stays quick.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias, get_type_hints

import typer
from typer.models import OptionInfo

from nemogym_docent.options import ConversionOptions


def choice(*allowed: str, what: str = "format") -> Callable[[str | None], str | None]:
    """A typer callback that accepts one of ``allowed`` (said in the error otherwise)."""
    words = ", ".join(allowed[:-1]) + f" or {allowed[-1]}" if len(allowed) > 1 else allowed[0]

    def check(value: str | None) -> str | None:
        if value is not None and value not in allowed:
            raise typer.BadParameter(f"{value!r} is not a {what}; choose {words}")
        return value

    return check


Inputs = Annotated[
    list[str],
    typer.Argument(
        metavar="INPUT...",
        help="Files, directories (every *.jsonl, *.jsonl.gz, *.jsonl.zst inside), globs, "
        "or - for stdin.",
        show_default=False,
    ),
]
Workers = Annotated[
    int,
    typer.Option("--workers", "-j", min=1, metavar="N", help="Worker processes; order is kept."),
]
Quiet = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q", help="No progress, notes or summary on stderr (errors and skips still)."
    ),
]
SkipInvalid = Annotated[
    bool,
    typer.Option(
        "--skip-invalid",
        help="Convert what converts, report the rest, and exit 0 (default: stop at the first). "
        "Unreadable files met in a directory are skipped too.",
    ),
]


def _lenient(help_text: str) -> Any:
    return Annotated[bool, typer.Option("--lenient", help=help_text)]


def _output_format(*allowed: str, help_text: str) -> Any:
    return Annotated[
        str,
        typer.Option("--format", "-f", metavar="FORMAT", callback=choice(*allowed), help=help_text),
    ]


if TYPE_CHECKING:  # what the values are; typer reads the declarations below
    from nemogym_docent.analysis.selection import Selection

    DetailLevel: TypeAlias = Literal["docent", "full"]
    GroupBy: TypeAlias = Literal["task"] | None
    Lenient: TypeAlias = bool
    JudgeLeniently: TypeAlias = bool
    IssueFormat: TypeAlias = str
    SummaryFormat: TypeAlias = str
else:
    DetailLevel = Annotated[
        str,
        typer.Option(
            "--detail",
            metavar="[docent|full]",
            callback=choice("docent", "full", what="detail level"),
            help="docent: lay runs out as Docent's converter does; full: also every NeMo Gym "
            "metric as a score, and judge and subagent conversations as transcripts "
            "(docs/full-detail.md).",
        ),
    ]
    GroupBy = Annotated[
        str | None,
        typer.Option(
            "--group-by",
            metavar="[task]",
            callback=choice("task", what="grouping"),
            help="task: give runs of one task the same metadata.nemogym.task_key and "
            "metadata.task_group (size, reward range) to group on in Docent (reads the inputs "
            "twice).",
        ),
    ]
    Lenient = _lenient(
        "Also convert what Docent's converter refuses, approximating it and recording "
        "each approximation in the run's metadata (conversion.losses)."
    )
    JudgeLeniently = _lenient(
        "Judge by the lenient mode: a record that converts only leniently is valid, "
        "and each approximation is listed as a warning (validate writes no runs)."
    )
    IssueFormat = _output_format(
        "text",
        "json",
        "github",
        help_text="text (file:line: path: message), json (one object a line) or github "
        "(::error annotations for GitHub Actions).",
    )
    SummaryFormat = _output_format(
        "text", "json", help_text="text (tables) or json (one object, for scripts)."
    )
Failures = Annotated[
    bool,
    typer.Option(
        "--failures",
        help="Also read the *_failures.jsonl files found in folders (a failures file named on "
        "its own is always read): with --lenient, one run per standing failed attempt.",
    ),
]
ErrorsPath = Annotated[
    Path | None,
    typer.Option(
        "--errors",
        metavar="FILE",
        help="Write every issue of every failed record to FILE as JSON lines: file, line, "
        "path, message.",
        dir_okay=False,
    ),
]
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
AnswerKey = Annotated[
    str | None,
    typer.Option(
        "--answer-key",
        metavar="FIELD",
        help="The answer field majority@k votes on (default: extracted_answer, where present).",
    ),
]
HtmlReport = Annotated[
    Path | None,
    typer.Option(
        "--html",
        metavar="FILE",
        help="Also write the report as one self-contained HTML file: charts, every number of "
        "--format json, no request leaving the page (docs/reports.md).",
        dir_okay=False,
    ),
]
MarkdownReport = Annotated[
    Path | None,
    typer.Option(
        "--markdown",
        metavar="FILE",
        help="Also write GitHub-flavoured markdown (headline numbers and a Mermaid chart) for "
        "a CI job summary ($GITHUB_STEP_SUMMARY) or a PR comment.",
        dir_okay=False,
    ),
]
DocentCollection = Annotated[
    str | None,
    typer.Option(
        "--docent-collection",
        metavar="ID",
        help="With --html: link each task and cell to its run in this Docent collection, as "
        "the upload ledger holds them (the runs uploaded from these files), else as the "
        "Docent server holds them (DOCENT_API_KEY, DOCENT_API_URL or docent.env).",
    ),
]


@dataclass(frozen=True)
class Conversion:
    """How ``convert`` and ``upload`` convert, and what they do with records that fail."""

    skip_invalid: SkipInvalid = False
    errors: ErrorsPath = None
    lenient: Lenient = False
    detail: DetailLevel = "docent"
    failures: Failures = False
    workers: Workers = 1
    quiet: Quiet = False

    @property
    def options(self) -> ConversionOptions:
        """The one value the library is given: the mode and the detail."""
        return ConversionOptions(strict=not self.lenient, detail=self.detail)


@dataclass(frozen=True)
class Selecting:
    """Which rollouts ``convert`` and ``upload`` take, and how runs of one task are grouped."""

    where: Where = None
    sample: Sample = None
    seed: Seed = 0
    per_task: PerTask = None
    contrast: Contrast = False
    group_by: GroupBy = None

    @property
    def selects(self) -> bool:
        """Whether anything beyond ``--where`` is asked for."""
        return bool(self.sample is not None or self.per_task or self.contrast or self.group_by)

    def selection(self) -> Selection:
        """The one value the engine is given (``WhereError`` for a malformed ``--where``)."""
        from nemogym_docent.analysis.selection import Selection  # noqa: PLC0415 (simpleeval)

        return Selection(
            where=tuple(self.where or ()),
            sample=self.sample,
            seed=self.seed,
            per_task=self.per_task,
            contrast=self.contrast,
        )


@dataclass(frozen=True)
class Sending:
    """Where and how runs go to Docent (``upload``, and any command that uploads)."""

    collection_id: Annotated[
        str | None,
        typer.Option("--collection-id", metavar="ID", help="Add the runs to this collection."),
    ] = None
    collection_name: Annotated[
        str | None,
        typer.Option(
            "--collection-name",
            metavar="NAME",
            help="Create a collection with this name (once the first batch is ready).",
        ),
    ] = None
    api_url: Annotated[
        str | None,
        typer.Option(
            "--api-url",
            metavar="URL",
            help="Docent API URL (default: DOCENT_API_URL, docent.env, or Docent's).",
        ),
    ] = None
    frontend_url: Annotated[
        str | None,
        typer.Option(
            "--frontend-url",
            metavar="URL",
            help="Docent web app URL (default: DOCENT_FRONTEND_URL, docent.env, or Docent's).",
        ),
    ] = None
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Convert and count, send nothing.")] = (
        False
    )
    batch_size: Annotated[
        int,
        typer.Option("--batch-size", min=1, metavar="N", help="Runs sent per request (at most)."),
    ] = 500
    wait: Annotated[
        bool,
        typer.Option("--wait/--no-wait", help="Wait until Docent has processed every batch."),
    ] = True
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            min=0.001,
            metavar="SECONDS",
            help="Longest wait for any one request, and for Docent to finish processing.",
        ),
    ] = 300.0
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Send only the runs the collection does not hold yet (by their upload keys).",
        ),
    ] = False
    resend_in_flight: Annotated[
        bool,
        typer.Option(
            "--resend-in-flight",
            help="Send again the runs an earlier upload left in flight when the server cannot "
            "say whether it holds them (they may then be stored twice).",
        ),
    ] = False
    ledger: Annotated[
        Path | None,
        typer.Option(
            "--ledger",
            metavar="FILE",
            help="The upload ledger, which writes down what was sent where (default: "
            "NEMOGYM_DOCENT_LEDGER, else ~/.local/state/nemogym-docent/uploads.sqlite).",
            dir_okay=False,
        ),
    ] = None
    patience: Annotated[
        str | None,
        typer.Option(
            "--patience",
            metavar="TIME",
            help="How long to keep trying a request the server turns away (429, 503, 5xx, no "
            "answer), from its first failure, before stopping with the --resume command "
            "(default: 5m; with --follow, no limit). Retry-After is honoured.",
        ),
    ] = None

    @property
    def patience_seconds(self) -> float | None:
        """``--patience`` in seconds (None: no limit)."""
        from nemogym_docent.upload.retry import DEFAULT_PATIENCE  # noqa: PLC0415 (light)

        if self.patience is None:
            return DEFAULT_PATIENCE
        return parse_duration(self.patience, option="--patience")


@dataclass(frozen=True)
class Streaming:
    """What ``upload`` reads, and whether it keeps reading."""

    from_agent_runs: Annotated[
        bool,
        typer.Option(
            "--from-agent-runs", help="Inputs are AgentRun JSON lines (from convert), not rollouts."
        ),
    ] = False
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            help="Keep reading: send complete lines as they are appended to the files (and new "
            "*.jsonl files in the folders) until Ctrl-C. Implies --resume.",
        ),
    ] = False
    flush_every: Annotated[
        str,
        typer.Option(
            "--flush-every",
            metavar="TIME",
            help="With --follow, send what was gathered at least this often (10s, 500ms, 2m).",
        ),
    ] = "10s"


def option_words(group: Any) -> list[str]:
    """The options of a group (an instance) that differ from their defaults, as a command line
    gives them."""
    words: list[str] = []
    hints = get_type_hints(type(group), include_extras=True)
    for option in dataclasses.fields(group):
        value = getattr(group, option.name)
        if value == option.default:
            continue
        (info,) = (meta for meta in hints[option.name].__metadata__ if isinstance(meta, OptionInfo))
        flag = str(info.default)  # (with Annotated, typer keeps the first name there)
        if isinstance(value, bool):
            on, _, off = flag.partition("/")
            words.append(on if value else off)
        elif isinstance(value, list):
            for item in value:
                words += [flag, str(item)]
        else:
            words += [flag, str(value)]
    return words


def grouped(command: Callable[..., None]) -> Callable[..., None]:
    """The command with each parameter typed by an option group spread into the group's
    options (for typer to declare), and packed back into the group when it runs."""
    hints = get_type_hints(command, include_extras=True)
    groups: dict[str, Any] = {}
    parameters: list[inspect.Parameter] = []
    for name, parameter in inspect.signature(command).parameters.items():
        hint = hints[name]
        if not dataclasses.is_dataclass(hint):
            parameters.append(parameter.replace(annotation=hint, kind=_KEYWORD))
            continue
        groups[name] = hint
        group_hints = get_type_hints(hint, include_extras=True)
        parameters += [
            inspect.Parameter(
                option.name, _KEYWORD, default=option.default, annotation=group_hints[option.name]
            )
            for option in dataclasses.fields(hint)
        ]

    @functools.wraps(command)
    def spread(**values: Any) -> None:
        for name, group in groups.items():
            values[name] = group(
                **{option.name: values.pop(option.name) for option in dataclasses.fields(group)}
            )
        command(**values)

    spread.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    spread.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
    return spread


_KEYWORD = inspect.Parameter.KEYWORD_ONLY


def examples(*lines: str) -> str:
    """An epilog of examples, kept as written (``\\b`` stops the help from rewrapping it)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


_DURATION = re.compile(r"(?P<number>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>ms|s|m|h)?\Z")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str, *, option: str = "--flush-every") -> float:
    """Seconds in ``10s``, ``500ms``, ``2m``, ``1h`` or a plain number of seconds."""
    match = _DURATION.match(text.strip())
    if match is None or float(match["number"]) <= 0:
        raise typer.BadParameter(f"{text!r} is not a duration (10s, 500ms, 2m)", param_hint=option)
    return float(match["number"]) * _UNITS[match["unit"] or "s"]

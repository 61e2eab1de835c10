"""``nemogym-docent convert``: rollouts in, one AgentRun JSON line each out."""

from __future__ import annotations

from pathlib import Path

from nemogym_docent.cli.options import Conversion, Selecting
from nemogym_docent.cli.reporting import selection_rows
from nemogym_docent.cli.session import Session, selection_stage
from nemogym_docent.engine.line_tasks import LineTask


def run_convert(
    inputs: list[str], output: str, conversion: Conversion, selecting: Selecting
) -> None:
    """Convert every input record; write the runs to ``output`` only when the command succeeds."""
    stage = selection_stage(selecting)
    task = LineTask(
        "convert",
        conversion.options,
        stop_at_failure=not conversion.skip_invalid,
        one_by_one=stage is not None and stage.group_by_task,
    )
    with Session(
        task,
        inputs,
        conversion,
        output=output,
        progress_label="converting",
        chunk_source=None if stage is None else stage.apply,
    ) as session:
        assert session.output_file is not None
        out = session.output_file.stream
        for source, result in session.results():
            if result.issues:
                session.reject(result)
            elif result.output is not None and stage is not None:
                out.write(stage.group_output(source.name, result.line, result.output))
            elif result.output is not None:
                out.write(result.output)
        title = f"convert → {'stdout' if output == '-' else Path(output).name}"
        session.finish(title, selection_rows(stage, session.stats), stage=stage)

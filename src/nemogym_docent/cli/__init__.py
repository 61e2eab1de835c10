"""The ``nemogym-docent`` command line: convert, validate, upload, schema."""

from __future__ import annotations

import typer

from nemogym_docent.cli.convert import convert_command
from nemogym_docent.cli.schema import schema_command
from nemogym_docent.cli.upload import upload_command
from nemogym_docent.cli.validate import validate_command

app = typer.Typer(
    name="nemogym-docent",
    help="Convert, validate and upload NVIDIA NeMo Gym rollout exports as Docent AgentRuns.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("convert")(convert_command)
app.command("validate")(validate_command)
app.command("upload")(upload_command)
app.command("schema")(schema_command)

__all__ = ["app"]

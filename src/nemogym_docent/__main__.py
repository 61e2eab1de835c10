"""``python -m nemogym_docent``: the same as the ``nemogym-docent`` command."""

from nemogym_docent.cli import app

if __name__ == "__main__":
    app(prog_name="nemogym-docent")

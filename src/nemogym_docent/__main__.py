"""``python -m nemogym_docent``: the same as the ``nemogym-docent`` command."""

from nemogym_docent.cli import main

if __name__ == "__main__":
    main()

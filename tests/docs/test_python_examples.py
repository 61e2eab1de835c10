"""Every Python example in README.md and docs/ runs, and prints what its ``#>`` lines show
(pytest-examples). The examples of one document run in order and share their names, as a reader
goes through them. An example fenced as ```python test="skip"``` is not run: one that needs a
live Docent server or a Ray cluster (docs/testing.md). ``pytest tests/docs
--update-examples`` rewrites the ``#>`` lines from what the examples print."""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from pytest_examples import CodeExample, EvalExample, find_examples

ROOT = Path(__file__).parents[2]
BY_DOCUMENT: dict[Path, list[CodeExample]] = defaultdict(list)
for found in find_examples(str(ROOT / "README.md"), str(ROOT / "docs")):
    BY_DOCUMENT[found.path].append(found)


def document_id(document: Path) -> str:
    return str(document.relative_to(ROOT))


NOT_YET_AS_WRITTEN = {"docs/full-detail.md", "docs/lenient.md"}
"""Documents whose examples are still fragments (a rollout or an import left to the reader);
strict: the test fails once one of them runs as written, to take it off this list."""


def marked(document: Path) -> Any:
    if document_id(document) in NOT_YET_AS_WRITTEN:
        return pytest.param(document, marks=pytest.mark.xfail(strict=True, reason="not yet"))
    return document


@pytest.mark.parametrize("document", [marked(d) for d in sorted(BY_DOCUMENT)], ids=document_id)
def test_python_examples_run_as_written(
    document: Path, eval_example: EvalExample, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)  # what an example writes stays out of the checkout
    names: dict[str, Any] = {"__name__": f"docs_{document.stem}"}
    ran = 0
    for example in BY_DOCUMENT[document]:
        if example.prefix_settings().get("test") == "skip":
            continue
        failure = None
        try:
            if eval_example.update_examples:
                names = eval_example.run_print_update(example, module_globals=names)
            else:
                names = eval_example.run_print_check(example, module_globals=names)
        except (Exception, pytest.fail.Exception) as error:
            failure = (
                f"{document_id(document)}:{example.start_line}: {type(error).__name__}: {error}"
            )
        if failure is not None:  # raised outside the handler, without the traceback into the
            # example's code, on which Python 3.11's traceback module fails (and pytest's report)
            pytest.fail(failure, pytrace=False)
        ran += 1
    if not ran:
        pytest.skip("every example needs a live Docent server or a Ray cluster")

"""Every console example in README.md and docs/ runs as written and prints what it shows.

A ```console block is a terminal session: each ``$ `` line is a command (a line ending in ``\\``
goes on with the next), the lines after it are its output, stdout and stderr together. A line
``…`` alone stands for any number of lines. A command that exits non-zero must be followed by
``$ echo $?`` showing its exit code. The blocks of one file run in order, in one folder holding a
copy of ``examples/``, with the package's ``nemogym-docent`` first on the PATH. A block preceded by
a ``<!-- not run: REASON -->`` line is not run (an example that needs a live Docent server or a
Ctrl-C): docs/testing.md says when that is allowed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NOT_RUN = re.compile(r"<!-- not run: .+ -->")
ANY_LINES = "…"
MARK = "\x1e<nemogym-docent-docs-test>"


@dataclass
class Command:
    line: int
    text: str
    expected: list[str]


@dataclass
class Block:
    document: Path
    line: int
    commands: list[Command]
    run: bool


def console_blocks(document: Path) -> list[Block]:
    """The console blocks of a document, in order."""
    blocks: list[Block] = []
    lines = document.read_text().splitlines()
    number = 0
    while number < len(lines):
        if lines[number].strip() != "```console":
            number += 1
            continue
        start = number
        run = not (start and NOT_RUN.fullmatch(lines[start - 1].strip()))
        commands: list[Command] = []
        number += 1
        while lines[number].strip() != "```":
            text = lines[number]
            if text.startswith("$ "):
                command = text[2:]
                first = number
                while command.endswith("\\"):
                    number += 1
                    command = command[:-1] + lines[number].strip()
                commands.append(Command(first + 1, command, []))
            elif commands:
                commands[-1].expected.append(text.rstrip())
            number += 1
        blocks.append(Block(document, start + 1, commands, run))
        number += 1
    return blocks


def matches(expected: list[str], actual: list[str]) -> bool:
    """Line by line; ``…`` takes any number of lines."""
    if not expected:
        return not actual
    if expected[0] == ANY_LINES:
        return any(matches(expected[1:], actual[skip:]) for skip in range(len(actual) + 1))
    return bool(actual) and expected[0] == actual[0] and matches(expected[1:], actual[1:])


def run_session(commands: list[Command], cwd: Path) -> list[tuple[list[str], int]]:
    """Each command's output lines and exit code, run one after another in one bash."""
    script = "".join(
        f"{command.text}\n__status=$?; printf '\\n{MARK}%s\\n' $__status; (exit $__status)\n"
        for command in commands
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DOCENT_", "GITHUB_"))
    }
    env |= {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "NO_COLOR": "1",
        "COLUMNS": "100",
        "TERM": "dumb",
        "LC_ALL": "C.UTF-8",
    }
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", script],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
        check=False,
    )
    outputs: list[tuple[list[str], int]] = []
    lines: list[str] = []
    for line in result.stdout.split("\n"):
        if line.startswith(MARK):
            if lines and lines[-1] == "":
                lines.pop()  # the newline printed before the mark
            outputs.append(([text.rstrip() for text in lines], int(line[len(MARK) :])))
            lines = []
        else:
            lines.append(line)
    assert len(outputs) == len(commands), result.stdout
    return outputs


def document_id(document: Path) -> str:
    return str(document.relative_to(ROOT))


@pytest.mark.parametrize("document", DOCUMENTS, ids=document_id)
def test_console_examples_run_as_written(document: Path, tmp_path: Path) -> None:
    blocks = [block for block in console_blocks(document) if block.run]
    if not blocks:
        pytest.skip("no console example that runs")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    failures = []
    for block in blocks:
        outputs = run_session(block.commands, tmp_path)
        for index, (command, (actual, status)) in enumerate(
            zip(block.commands, outputs, strict=True)
        ):
            where = f"{document_id(document)}:{command.line}: $ {command.text}"
            while actual and not actual[-1] and (not command.expected or command.expected[-1]):
                actual.pop()
            expected = command.expected
            while expected and not expected[-1]:
                expected = expected[:-1]
            if not matches(expected, actual):
                failures.append(
                    f"{where}\n--- shown\n"
                    + "\n".join(expected)
                    + "\n--- printed\n"
                    + "\n".join(actual)
                )
            shown_status = (
                index + 1 < len(block.commands) and block.commands[index + 1].text == "echo $?"
            )
            if status != 0 and not shown_status:
                failures.append(
                    f"{where}\nexits {status}, and the example does not show it (echo $?)"
                )
    assert not failures, "\n\n".join(failures)


def test_the_marker_is_used_only_where_allowed() -> None:
    """Only an example that needs a live Docent server, a Ray cluster or a Ctrl-C is not run."""
    for document in DOCUMENTS:
        for line in document.read_text().splitlines():
            if NOT_RUN.fullmatch(line.strip()):
                assert re.search(r"Docent server|Ray cluster|Ctrl-C", line), (
                    f"{document_id(document)}: {line}"
                )

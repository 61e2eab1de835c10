"""The GitHub Action (``action.yml``): its steps, read from the file, run as GitHub runs a
composite action's steps, with the variables GitHub sets and the inputs it passes."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from package_helpers import ROOT, UV, clean_env, run

pytestmark = pytest.mark.package

ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
EXPRESSION = re.compile(r"\$\{\{\s*([\w.-]+)\s*\}\}")


def evaluate(text: str, context: dict[str, dict[str, str]]) -> str:
    """``${{ inputs.paths }}`` and the like, as GitHub expands them (an unset value is empty)."""

    def value(match: re.Match[str]) -> str:
        scope, _, name = match[1].partition(".")
        if scope == "steps":
            step, _, name = name.partition(".outputs.")
            return context["steps"].get(f"{step}.{name}", "")
        return context[scope].get(name, "")

    return EXPRESSION.sub(value, text)


def outputs_written(path: Path) -> dict[str, str]:
    """The ``name=value`` lines a step wrote to ``$GITHUB_OUTPUT``."""
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line)


class Runner:
    """A runner's folders and variables, and the PATH that earlier steps added to."""

    def __init__(self, root: Path) -> None:
        self.temp = root / "runner-temp"
        self.temp.mkdir()
        self.path_file = root / "github-path"
        self.path_file.touch()
        tools = root / "tools"  # uv, as on GitHub's runners where setup-uv put it
        tools.mkdir()
        (tools / "uv").symlink_to(Path(UV[0]).with_name("uv"))
        self.base_path = f"{tools}{os.pathsep}{clean_env()['PATH']}"

    def run_step(
        self, step: dict[str, Any], context: dict[str, dict[str, str]], workspace: Path
    ) -> tuple[int, str, str, dict[str, str]]:
        """One ``run`` step, in bash as GitHub runs it; its exit code, output and outputs."""
        assert step["shell"] == "bash"
        output_file = workspace / f"output-{step['id']}"
        output_file.touch()
        added = self.path_file.read_text().splitlines()
        env = clean_env(
            GITHUB_ACTIONS="true",
            GITHUB_ACTION_PATH=str(ROOT),
            GITHUB_WORKSPACE=str(workspace),
            GITHUB_STEP_SUMMARY=str(workspace / "step-summary.md"),
            GITHUB_OUTPUT=str(output_file),
            GITHUB_PATH=str(self.path_file),
            RUNNER_TEMP=str(self.temp),
            PATH=os.pathsep.join([*reversed(added), self.base_path]),
            **{name: evaluate(str(value), context) for name, value in step.get("env", {}).items()},
        )
        script = evaluate(step["run"], context)
        command = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script]
        result = run(command, cwd=workspace, env=env)
        return result.returncode, result.stdout, result.stderr, outputs_written(output_file)


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    """A runner on which the action's install step has run once."""
    root = tmp_path_factory.mktemp("runner")
    runner = Runner(root)
    (install,) = (step for step in ACTION["runs"]["steps"] if step["id"] == "install")
    code, out, err, _ = runner.run_step(install, {"inputs": inputs({"paths": "."})}, root)
    assert code == 0, out + err
    return runner


def inputs(given: dict[str, str]) -> dict[str, str]:
    """The action's inputs: the given ones, the defaults of the others."""
    values = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    return values | given


def use_action(runner: Runner, workspace: Path, **given: str) -> tuple[int, str, str]:
    """The validate step with these inputs; its exit code and output, and the action's outputs."""
    context: dict[str, dict[str, str]] = {"inputs": inputs(given), "steps": {}}
    (validate,) = (step for step in ACTION["runs"]["steps"] if step["id"] == "validate")
    code, out, err, written = runner.run_step(validate, context, workspace)
    context["steps"] = {f"validate.{name}": value for name, value in written.items()}
    outputs = {name: evaluate(spec["value"], context) for name, spec in ACTION["outputs"].items()}
    return code, out + err, ",".join(f"{name}={value}" for name, value in outputs.items())


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A repository's checkout: the bundled example exports."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    return tmp_path


def test_invalid_records_are_annotated_summarised_and_fail_the_step(
    runner: Runner, workspace: Path
) -> None:
    code, output, outputs = use_action(runner, workspace, paths="examples/results/")
    assert code == 1, output
    assert outputs == "files=2,records=8,valid=5,invalid=3,errors=4"
    assert (
        "::error file=examples/results/tools_rollouts.jsonl.gz,line=2,title=agent_ref::is required"
    ) in output.splitlines()
    summary = (workspace / "step-summary.md").read_text()
    assert "### nemogym-docent validate\n" in summary
    assert "| invalid records | 3 |" in summary
    assert "| 1 | agent_ref: is required |" in summary


def test_valid_paths_pass(runner: Runner, workspace: Path) -> None:
    paths = "examples/rollouts.jsonl\nexamples/results/math_rollouts.jsonl"
    code, output, outputs = use_action(runner, workspace, paths=paths)
    assert code == 0, output
    assert outputs == "files=2,records=9,valid=9,invalid=0,errors=0"
    assert "::error" not in output
    assert "| valid records | 9 |" in (workspace / "step-summary.md").read_text()


def test_lenient_and_extra_arguments(runner: Runner, workspace: Path) -> None:
    code, output, outputs = use_action(runner, workspace, paths="examples/", lenient="true")
    assert code == 0, output
    assert "::warning file=examples/results/tools_rollouts.jsonl.gz,line=4," in output
    code, output, outputs = use_action(
        runner, workspace, paths="examples/results", args="--max-errors 1"
    )
    assert code == 1, output
    assert outputs.endswith(",errors=1")


def test_fail_on_invalid_false_passes_the_step_but_not_an_input_error(
    runner: Runner, workspace: Path
) -> None:
    code, output, outputs = use_action(
        runner, workspace, paths="examples/results/", **{"fail-on-invalid": "false"}
    )
    assert code == 0, output
    assert "invalid=3" in outputs
    assert "::notice::" in output
    code, output, _ = use_action(runner, workspace, paths="nosuch/", **{"fail-on-invalid": "false"})
    assert code == 2, output
    assert "error: nosuch/: no such file or directory" in output

"""The repository's pre-commit hook (``.pre-commit-hooks.yaml``), installed by pre-commit itself
from a git repository of this checkout, run on a git repository of exports."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from package_helpers import LOCK, ROOT, UV, clean_env, run

pytestmark = pytest.mark.package

HOOK = "nemogym-docent-validate"
PRE_COMMIT_UV = "pre-commit-uv==4.4.1"
DEV_LOCK = ROOT / "requirements-dev.lock"
GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]


def commit_all(repo: Path) -> str:
    """Commit everything in ``repo`` (made a git repository if need be); the commit's hash."""
    env = clean_env()
    for args in (["init", "--quiet"], ["add", "--all"], ["commit", "--quiet", "-m", "files"]):
        result = run([*GIT, *args], cwd=repo, env=env)
        assert result.returncode == 0, result.stderr
    return run(["git", "rev-parse", "HEAD"], cwd=repo).stdout.strip()


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This checkout's files as they are now, committed in a repository of their own (so that
    pre-commit installs the hook once for all the tests here), and that commit."""
    repo = tmp_path_factory.mktemp("hook-repo")
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source, target = ROOT / name, repo / name
        if source.is_symlink() or source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target, follow_symlinks=False)
    return repo, commit_all(repo)


@pytest.fixture(scope="module")
def pre_commit_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """pre-commit (the locked version) in an environment of its own, with pre-commit-uv, which
    installs the hook with uv instead of pip (a minute less, and pre-commit-uv's start-up hook
    stays out of the project's environment); its cache for this module; the hook's dependencies
    held to the lock file."""
    tools = tmp_path_factory.mktemp("pre-commit-tools")
    env = clean_env()
    assert run([*UV, "venv", "--quiet", tools / "env"], cwd=tools, env=env).returncode == 0
    install = [*UV, "pip", "install", "--quiet", "--python", tools / "env" / "bin" / "python"]
    result = run([*install, "-c", DEV_LOCK, "pre-commit", PRE_COMMIT_UV], cwd=tools, env=env)
    assert result.returncode == 0, result.stderr
    bin_dir = str(tools / "env" / "bin")
    return clean_env(
        PRE_COMMIT_HOME=str(tools / "home"),
        UV_CONSTRAINT=str(LOCK),
        PATH=f"{bin_dir}:{env['PATH']}",
    )


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    """A git repository of exports: one valid file, one with three invalid records, a side file."""
    folder = tmp_path / "exports"
    folder.mkdir()
    shutil.copy(ROOT / "examples" / "rollouts.jsonl", folder / "good.jsonl")
    shutil.copy(ROOT / "examples" / "results" / "tools_rollouts.jsonl.gz", folder)
    shutil.copy(ROOT / "examples" / "results" / "math_rollouts_materialized_inputs.jsonl", folder)
    commit_all(tmp_path)
    return tmp_path


def pre_commit(cwd: Path, env: dict[str, str], *args: str | Path) -> tuple[int, str]:
    pre_commit_script = Path(env["PATH"].split(":")[0]) / "pre-commit"
    result = run([pre_commit_script, *args], cwd=cwd, env=env)
    return result.returncode, result.stdout + result.stderr


def configure(exports: Path, hook_repo: tuple[Path, str], args: str = "") -> None:
    """A ``.pre-commit-config.yaml`` using the hook, as docs/ci.md shows it."""
    repo, commit = hook_repo
    (exports / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {repo}\n    rev: {commit}\n    hooks:\n      - id: {HOOK}\n"
        + (f"        args: {args}\n" if args else "")
    )


def test_try_repo_fails_an_invalid_export_with_file_and_line(
    hook_repo: tuple[Path, str], exports: Path, pre_commit_env: dict[str, str]
) -> None:
    repo, commit = hook_repo
    code, output = pre_commit(
        exports, pre_commit_env, "try-repo", repo, HOOK, "--ref", commit, "--all-files"
    )
    assert code == 1, output
    assert "exports/tools_rollouts.jsonl.gz:2: agent_ref: is required" in output
    assert "exports/tools_rollouts.jsonl.gz:3: response.output[2].call_id:" in output
    assert "materialized_inputs" not in output
    assert "Traceback" not in output


def test_valid_exports_pass(
    hook_repo: tuple[Path, str], exports: Path, pre_commit_env: dict[str, str]
) -> None:
    configure(exports, hook_repo)
    good = ["--files", "exports/good.jsonl", "exports/math_rollouts_materialized_inputs.jsonl"]
    code, output = pre_commit(exports, pre_commit_env, "run", *good)
    assert code == 0, output
    assert "Passed" in output
    code, output = pre_commit(exports, pre_commit_env, "run", "--all-files")
    assert code == 1, output
    assert "exports/tools_rollouts.jsonl.gz:4: responses_create_params.input[1]" in output


def test_lenient_in_args_is_honoured(
    hook_repo: tuple[Path, str], exports: Path, pre_commit_env: dict[str, str]
) -> None:
    configure(exports, hook_repo, args="[--lenient]")
    code, output = pre_commit(exports, pre_commit_env, "run", "--all-files")
    assert code == 0, output
    assert "Passed" in output

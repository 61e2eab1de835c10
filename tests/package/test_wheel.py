"""The wheel a standard build makes (sdist first, then the wheel from it, as ``uv build`` and
``python -m build`` do), installed with the locked dependencies into a fresh environment outside
the checkout, and used from there."""

from __future__ import annotations

import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest
from cli_helpers import assert_no_traceback
from package_helpers import LOCK, ROOT, UV, clean_env, run

pytestmark = pytest.mark.package

SCHEMAS = sorted(path.name for path in (ROOT / "schemas").glob("*.schema.json"))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder holding the sdist and the wheel ``uv build`` makes from this checkout."""
    dist = tmp_path_factory.mktemp("dist")
    result = run([*UV, "build", "--quiet", "--out-dir", dist, ROOT], cwd=dist, env=clean_env())
    assert result.returncode == 0, result.stderr
    return dist


@pytest.fixture(scope="module")
def installed(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a fresh environment holding the wheel and the locked dependencies."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    env = clean_env()
    assert run([*UV, "venv", "--quiet", venv], cwd=built, env=env).returncode == 0
    (wheel,) = built.glob("*.whl")
    install = [*UV, "pip", "install", "--quiet", "--python", venv / "bin" / "python"]
    result = run([*install, "-r", LOCK, wheel], cwd=built, env=env)
    assert result.returncode == 0, result.stderr
    return venv / "bin"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A folder outside the checkout holding copies of the bundled examples."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    return tmp_path


def nemogym_docent(bin_dir: Path, cwd: Path, *args: str) -> tuple[int, str, str]:
    result = run([bin_dir / "nemogym-docent", *args], cwd=cwd, env=clean_env(), timeout=120)
    assert_no_traceback(result.stderr)
    return result.returncode, result.stdout, result.stderr


def test_the_sdist_and_the_wheel_hold_the_schemas(built: Path) -> None:
    (wheel,) = built.glob("*.whl")
    (sdist,) = built.glob("*.tar.gz")
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = [Path(name) for name in archive.namelist()]
    with tarfile.open(sdist) as archive:
        in_sdist = [Path(member.name) for member in archive.getmembers() if member.isfile()]
    schemas = Path("nemogym_docent", "schemas")
    assert sorted(path.name for path in in_wheel if path.parent == schemas) == SCHEMAS
    assert (
        sorted(path.name for path in in_sdist if path.parent.parts[1:] == ("src", *schemas.parts))
        == SCHEMAS
    )


def test_twine_accepts_the_build(built: Path) -> None:
    twine = Path(UV[0]).with_name("twine")
    builds = [*built.glob("*.whl"), *built.glob("*.tar.gz")]
    result = run([twine, "check", "--strict", *builds], cwd=built)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_path_names_a_file_of_the_installed_package(installed: Path, work: Path) -> None:
    code, out, err = nemogym_docent(installed, work, "schema", "--path", "nemogym-rollout")
    assert code == 0, err
    path = Path(out.strip())
    assert path.is_file()
    assert path.is_relative_to(installed.parent)
    assert path.read_bytes() == (ROOT / "schemas" / "nemogym-rollout.schema.json").read_bytes()
    code, out, err = nemogym_docent(installed, work, "schema", "--path", "nonesuch")
    assert code == 2
    assert "strict-rollout" in err


def test_validate_passes_a_valid_export_and_fails_an_invalid_one(
    installed: Path, work: Path
) -> None:
    code, out, err = nemogym_docent(installed, work, "validate", "examples/rollouts.jsonl", "-q")
    assert (code, out, err) == (0, "", "")
    code, out, err = nemogym_docent(installed, work, "validate", "examples/results/", "-q")
    assert code == 1, err
    assert out.splitlines()[0] == (
        "examples/results/tools_rollouts.jsonl.gz:2: agent_ref: is required"
    )
    code, out, err = nemogym_docent(
        installed, work, "validate", "examples/results/", "--lenient", "-q"
    )
    assert (code, err) == (0, "")


def test_convert_writes_one_run_per_rollout(installed: Path, work: Path) -> None:
    code, out, err = nemogym_docent(
        installed, work, "convert", "examples/rollouts.jsonl", "-o", "runs.jsonl", "-q"
    )
    assert (code, out, err) == (0, "", "")
    assert len((work / "runs.jsonl").read_text().splitlines()) == 6

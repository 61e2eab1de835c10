"""NeMo Gym 0.7's own metric code (``nemo_gym/reward_profile.py``), imported for a benchmark.

Not a benchmark itself. NeMo Gym 0.7 needs Python ≥ 3.13 and some forty packages (Ray, MLflow,
wandb, FastAPI, …), none of which its metric code runs. So this fetches the published wheel
(``uvx pip download --no-deps``), unpacks it, installs the few packages its metric modules call
or build their classes from (pandas and pydantic come with nemogym-docent; scipy, omegaconf,
hydra-core, openai) into a side folder, and stands in an empty module for each of the others.
``wandb.Histogram`` is one of those: NeMo Gym builds one per metric and drops it, so NeMo Gym's
time measured here is, if anything, lower than its own. Everything is cached under
``.bench-cache/`` (git-ignored).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.metadata
import subprocess
import sys
import types
import zipfile
from pathlib import Path
from typing import Any

from _common import REPO

VERSION = "0.7.0"
CACHE = REPO / ".bench-cache" / f"nemo-gym-{VERSION}"
SIDE_PACKAGES = ("scipy", "omegaconf", "hydra-core", "openai==2.44.0")
# Imported by NeMo Gym's modules at import time, never called by its metric code.
STAND_INS = (
    "wandb", "mlflow", "ray", "anthropic", "mcp", "fastapi", "uvicorn", "aiohttp", "devtools",
    "yappi", "datasets", "psutil", "git", "uvloop",
)  # fmt: skip


class _Anything:
    """What a stand-in module gives for any name: callable, and a base class if need be."""

    def __init__(self, *_args: object, **_kwargs: object) -> None:
        pass

    def __call__(self, *_args: object, **_kwargs: object) -> _Anything:
        return _Anything()

    def __getattr__(self, name: str) -> _Anything:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Anything()

    def __mro_entries__(self, _bases: tuple[type, ...]) -> tuple[type, ...]:
        return (object,)


class _StandIn(types.ModuleType):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__path__: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Anything()


class _StandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name.split(".")[0] in STAND_INS:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _StandIn(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        pass


def _fetch() -> tuple[Path, Path]:
    wheel_dir, unpacked, side = CACHE / "wheel", CACHE / "unpacked", CACHE / "side"
    if not (unpacked / "nemo_gym" / "reward_profile.py").exists():
        wheel_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["uvx", "pip", "download", "--quiet", "--no-deps",
             "--only-binary=:all:", "--python-version", "3.13.14", "-d", str(wheel_dir),
             f"nemo-gym=={VERSION}"],
            check=True,
        )  # fmt: skip
        with zipfile.ZipFile(next(wheel_dir.glob("nemo_gym-*.whl"))) as wheel:
            wheel.extractall(unpacked)
    if not (side / "scipy").exists():
        subprocess.run(
            ["uv", "pip", "install", "--quiet", "--python", sys.executable, "--target", str(side),
             *SIDE_PACKAGES],
            check=True,
        )  # fmt: skip
    return unpacked, side


def reward_profile() -> types.ModuleType:
    """``nemo_gym.reward_profile`` of NeMo Gym 0.7, ready to call."""
    unpacked, side = _fetch()
    # The side folder goes last: nemogym-docent's own numpy and pandas stay the ones imported.
    sys.path[:0] = [str(unpacked)]
    sys.path.append(str(side))
    sys.meta_path.insert(0, _StandInFinder())
    real_version = importlib.metadata.version

    def version(name: str) -> str:
        return "0" if name.split(".")[0] in STAND_INS else real_version(name)

    importlib.metadata.version = version
    import nemo_gym.reward_profile  # noqa: PLC0415

    return nemo_gym.reward_profile

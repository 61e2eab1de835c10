"""Tests against the real Docent server; skipped unless ``make test-server`` started one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_proxy import FaultProxy
from real_docent import SCRIPTS_VARIABLE, STATE_VARIABLE, RealDocent


@pytest.fixture(scope="session")
def real_docent() -> RealDocent:
    state = os.environ.get(STATE_VARIABLE)
    if not state:
        pytest.skip("no real Docent server (make test-server starts one)")
    scripts = os.environ.get(SCRIPTS_VARIABLE) or str(
        Path(__file__).parents[2] / "../shared/docent-server"
    )
    return RealDocent(Path(state), Path(scripts))


@pytest.fixture
def server_env(
    real_docent: RealDocent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The environment of an upload command: this server's key and URLs, a ledger of the test's
    own, and no docent.env of the machine."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.chdir(tmp_path)
    env = {**os.environ, **real_docent.env, "HOME": str(home)}
    env["NEMOGYM_DOCENT_LEDGER"] = str(tmp_path / "ledger.sqlite")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def proxy(real_docent: RealDocent) -> Iterator[FaultProxy]:
    """The fault proxy in front of the server (passing everything until told otherwise)."""
    proxy = FaultProxy(real_docent.env["DOCENT_API_URL"]).start()
    try:
        yield proxy
    finally:
        proxy.stop()

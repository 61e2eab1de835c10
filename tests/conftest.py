"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import assert_no_traceback
from fake_docent import API_KEY, FakeDocent, isolate_docent_config
from parity import CORPUS
from pytest_httpserver import HTTPServer

_CLI_TEST_MODULES = ("test_cli", "test_upload")


@pytest.fixture
def corpus_dir() -> Path:
    """The shared corpus of real NeMo Gym exports; tests that need it skip where it is absent."""
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present")
    return CORPUS


@pytest.fixture(autouse=True)
def _no_traceback_from_any_process(
    request: pytest.FixtureRequest,
) -> Iterator[None]:
    """In the command-line tests, worker processes must not print tracebacks either: what
    reaches file descriptor 2 is checked too (the runners check what they capture)."""
    if not request.module.__name__.startswith(_CLI_TEST_MODULES):
        yield
        return
    capfd: pytest.CaptureFixture[str] = request.getfixturevalue("capfd")
    yield
    assert_no_traceback(capfd.readouterr().err)


@pytest.fixture
def docent(httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeDocent:
    """A loopback fake of Docent's server, with this test's own Docent config and API key."""
    isolate_docent_config(tmp_path, monkeypatch)
    monkeypatch.setenv("DOCENT_API_KEY", API_KEY)
    fake = FakeDocent(httpserver)
    fake.install()
    return fake

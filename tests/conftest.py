"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from parity import CORPUS


@pytest.fixture
def corpus_dir() -> Path:
    """The shared corpus of real NeMo Gym exports; tests that need it skip where it is absent."""
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present")
    return CORPUS

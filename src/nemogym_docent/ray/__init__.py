"""Ray Data integration: convert and upload NeMo Gym exports on a Ray cluster.

Needs the ``ray`` extra (``pip install "nemogym-docent[ray]"``). See ``docs/ray.md``.
"""

from __future__ import annotations

from nemogym_docent.ray.datasink import DocentDatasink, UploadCounts
from nemogym_docent.ray.reading import COLUMNS, read_nemogym_rollouts
from nemogym_docent.ray.writing import write_agent_runs

__all__ = [
    "COLUMNS",
    "DocentDatasink",
    "UploadCounts",
    "read_nemogym_rollouts",
    "write_agent_runs",
]

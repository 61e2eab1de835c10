"""Write a Dataset of AgentRun JSON lines as sharded JSONL files, the bytes ``convert`` writes.

Ray's ``write_json`` is no substitute: it would encode each line again as a JSON string, and its
Arrow type inference fails on metadata that varies from run to run.
"""

from __future__ import annotations

from typing import Any

import pyarrow
import pyarrow.fs as pafs
import ray.data
from ray.data.block import BlockAccessor
from ray.data.datasource import BlockBasedFileDatasink, FilenameProvider

from nemogym_docent.errors import ConversionError


class _NumberedParts(FilenameProvider):  # type: ignore[misc]
    """``part-000000.jsonl``, ``part-000001.jsonl``...: one per write task, in task order."""

    def get_filename_for_task(self, write_uuid: str, task_index: int) -> str:
        return f"part-{task_index:06d}.jsonl"


class AgentRunFilesDatasink(BlockBasedFileDatasink):  # type: ignore[misc]
    """Writes each block's ``agent_run`` column, one file per write task; a row that failed
    raises ``ConversionError`` (or is left out with ``skip_invalid``)."""

    def __init__(
        self,
        path: str,
        *,
        skip_invalid: bool = False,
        filesystem: pafs.FileSystem | None = None,
        mode: str = "error",
    ) -> None:
        super().__init__(
            path,
            filesystem=filesystem,
            filename_provider=_NumberedParts(),
            file_format="jsonl",
            mode=ray.data.SaveMode(mode),
        )
        self.skip_invalid = skip_invalid

    def write_block_to_file(self, block: BlockAccessor, file: pyarrow.NativeFile) -> None:
        table = block.to_arrow()
        columns: dict[str, list[Any]] = table.select(_READ).to_pydict()
        for name, line, error, json_path in zip(*(columns[c] for c in _CHECKED), strict=True):
            if error and not self.skip_invalid:
                raise ConversionError(error, json_path=json_path, file=name, line=line)
        file.write(b"".join(columns["agent_run"]))


_CHECKED = ("file", "line", "error", "json_path")
_READ = ["agent_run", *_CHECKED]


def write_agent_runs(
    dataset: ray.data.Dataset,
    path: str,
    *,
    skip_invalid: bool = False,
    filesystem: pafs.FileSystem | None = None,
    mode: str = "error",
) -> None:
    """Write the runs of ``read_nemogym_rollouts`` under ``path`` (a directory, local or a URI).

    Files are named ``part-NNNNNN.jsonl`` in dataset order: read with ``preserve_order=True``,
    their concatenation in name order is what ``nemogym-docent convert`` writes for the same
    inputs. A failed record stops the write with ``ConversionError`` unless ``skip_invalid``.
    ``mode`` is Ray's save mode for an existing directory: ``error`` (the default),
    ``overwrite``, ``append`` or ``ignore``.
    """
    sink = AgentRunFilesDatasink(path, skip_invalid=skip_invalid, filesystem=filesystem, mode=mode)
    dataset.write_datasink(sink)

"""Upload a Dataset of AgentRun JSON lines to a Docent collection, each run once.

Every write task sends its batches as ``nemogym-docent upload --resume`` does (the same
``upload.sending``): it asks which upload keys the collection holds, sends the missing runs and
waits until Docent has stored them; a task that Ray runs again after a failure therefore sends
only what the failed attempt had not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from docent.data_models.agent_run import AgentRun
from docent.data_models.util import clone_agent_run_with_random_ids
from ray.data.block import Block, BlockAccessor
from ray.data.datasource import Datasink, WriteResult

from nemogym_docent.errors import ConversionError
from nemogym_docent.upload.client import DocentUploader
from nemogym_docent.upload.keys import agent_run_upload_key, set_upload_key
from nemogym_docent.upload.ledger import Ledger
from nemogym_docent.upload.payload import run_payload
from nemogym_docent.upload.sending import CollectionSender, Outgoing


@dataclass
class UploadCounts:
    """What the write tasks did: runs sent, runs the collection already held (or a task was
    given twice), failed rows left out (``skip_invalid``)."""

    sent: int = 0
    already: int = 0
    skipped: int = 0

    def add(self, other: UploadCounts) -> None:
        self.sent += other.sent
        self.already += other.already
        self.skipped += other.skipped


class DocentDatasink(Datasink[UploadCounts]):  # type: ignore[misc]
    """``dataset.write_datasink(DocentDatasink(collection_id=...))`` for a Dataset from
    ``read_nemogym_rollouts`` (or any with an ``agent_run`` column of AgentRun JSON lines).

    Runs carry ``metadata["nemogym"]["upload_key"]``: the row's ``upload_key`` column, else a
    digest of its ``agent_run`` line. The API key, URLs and ``timeout`` are those of
    ``nemogym-docent upload`` (``api_key=None``: ``DOCENT_API_KEY`` in the workers' environment).
    ``ledger``: an upload ledger file every worker reaches (shared storage), so that a task run
    again resolves the batch its failed attempt left in flight by run id; without one, each task
    keeps its ledger in memory and relies on what the server says it holds.
    After the write, ``counts`` says how many runs were sent and how many were already there.
    """

    def __init__(
        self,
        *,
        collection_id: str,
        api_key: str | None = None,
        api_url: str | None = None,
        frontend_url: str | None = None,
        batch_size: int = 500,
        timeout: float = 300.0,
        skip_invalid: bool = False,
        ledger: str | None = None,
    ) -> None:
        self.collection_id = collection_id
        self.api_key = api_key
        self.api_url = api_url
        self.frontend_url = frontend_url
        self.batch_size = batch_size
        self.timeout = timeout
        self.skip_invalid = skip_invalid
        self.ledger = ledger
        self.counts = UploadCounts()

    def write(self, blocks: Iterable[Block], ctx: Any) -> UploadCounts:
        uploader = DocentUploader(
            api_key=self.api_key,
            api_url=self.api_url,
            frontend_url=self.frontend_url,
            timeout=self.timeout,
            quiet=True,
        )
        ledger = Ledger(
            None if self.ledger is None else Path(self.ledger),
            server=uploader.server,
            collection=self.collection_id,
        )
        sender = CollectionSender(
            uploader, self.collection_id, ledger, uploader.capabilities(self.collection_id)
        )
        sender.resolve_in_flight()
        task = _Task(uploader, sender, UploadCounts())
        batch: list[Outgoing] = []
        for block in blocks:
            for row in BlockAccessor.for_block(block).to_arrow().to_pylist():
                keyed = self._run(row, task.counts)
                if keyed is not None:
                    batch.append(keyed)
                if len(batch) >= self.batch_size:
                    task.upload(batch)
                    batch = []
        if batch:
            task.upload(batch)
        ledger.close()
        return task.counts

    def on_write_complete(self, write_result: WriteResult[UploadCounts]) -> None:
        for counts in write_result.write_returns:
            self.counts.add(counts)

    def get_name(self) -> str:
        return "DocentUpload"

    def _run(self, row: Any, counts: UploadCounts) -> Outgoing | None:
        """The row's run, to send; None for a failed row left out."""
        error = row.get("error") or ""
        if error:
            if not self.skip_invalid:
                raise ConversionError(
                    error, json_path=row.get("json_path") or "", file=row["file"], line=row["line"]
                )
            counts.skipped += 1
            return None
        line = bytes(row["agent_run"])
        key = row.get("upload_key") or agent_run_upload_key(line)
        # The line holds no ids; fresh ones anyway, as Docent refuses runs whose ids were set.
        run = clone_agent_run_with_random_ids(AgentRun.model_validate(orjson.loads(line)))
        set_upload_key(run, key)
        return Outgoing(key, run.id, f"{row['file']}:{row['line']}", run_payload(run))


@dataclass
class _Task:
    uploader: DocentUploader
    sender: CollectionSender
    counts: UploadCounts

    def upload(self, batch: list[Outgoing]) -> None:
        """Send the runs whose keys the collection lacks, and wait until Docent has them."""
        missing = self.sender.unsent(batch)
        self.counts.already = self.sender.already + self.sender.repeated
        if not missing:
            return
        jobs = len(self.sender.job_ids)
        self.sender.send(missing)
        self.uploader.wait(self.sender.collection_id, self.sender.job_ids[jobs:])
        self.counts.sent += len(missing)

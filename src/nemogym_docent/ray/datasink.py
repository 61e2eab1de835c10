"""Upload a Dataset of AgentRun JSON lines to a Docent collection, each run once.

Every write task uploads as ``nemogym-docent upload --resume`` does, through the same pipeline
(``upload.pipeline``): batches by count and bytes under Docent's request limit, the upload
ledger, the batches an earlier attempt left in flight resolved by run id, the one retry policy.
What the server offers is asked once, before the tasks start (``on_write_start``).
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
from nemogym_docent.upload.capabilities import Capabilities
from nemogym_docent.upload.client import DocentUploader
from nemogym_docent.upload.keys import agent_run_upload_key, set_upload_key
from nemogym_docent.upload.payload import run_payload
from nemogym_docent.upload.pipeline import Destination, Upload
from nemogym_docent.upload.retry import DEFAULT_PATIENCE, Retrying, RetryPolicy
from nemogym_docent.upload.sending import Outgoing


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

    Runs carry ``metadata["upload_key"]``: the row's ``upload_key`` column, else a
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
        patience: float | None = DEFAULT_PATIENCE,
    ) -> None:
        self.collection_id = collection_id
        self.api_key = api_key
        self.api_url = api_url
        self.frontend_url = frontend_url
        self.batch_size = batch_size
        self.timeout = timeout
        self.skip_invalid = skip_invalid
        self.ledger = ledger
        self.patience = patience
        self.capabilities: Capabilities | None = None
        """What the server offers, asked once by ``on_write_start``."""
        self.counts = UploadCounts()

    def on_write_start(self, schema: Any = None) -> None:
        """Before any task: the collection exists, and what the server offers."""
        uploader = self._connect()
        uploader.check_collection(self.collection_id)
        self.capabilities = uploader.capabilities(self.collection_id)

    def write(self, blocks: Iterable[Block], ctx: Any) -> UploadCounts:
        counts = UploadCounts()
        destination = Destination(
            collection_id=self.collection_id,
            resume=True,
            ledger=None if self.ledger is None else Path(self.ledger),
            batch_size=self.batch_size,
        )
        upload = Upload(self._connect(), destination, capabilities=self.capabilities)
        try:
            upload.prepare(check=self.capabilities is None)
            for block in blocks:
                for row in BlockAccessor.for_block(block).to_arrow().to_pylist():
                    run = self._run(row, counts)
                    too_big = None if run is None else upload.add(run)
                    if too_big is not None:
                        self._refuse(too_big, row, counts)
            upload.finish()
        finally:
            upload.close()
        counts.sent = upload.acknowledged.runs
        counts.already = upload.already + upload.repeated
        return counts

    def on_write_complete(self, write_result: WriteResult[UploadCounts]) -> None:
        for counts in write_result.write_returns:
            self.counts.add(counts)

    def get_name(self) -> str:
        return "DocentUpload"

    def _connect(self) -> DocentUploader:
        return DocentUploader(
            api_key=self.api_key,
            api_url=self.api_url,
            frontend_url=self.frontend_url,
            timeout=self.timeout,
            quiet=True,
            retrying=Retrying(RetryPolicy(self.patience)),
        )

    def _refuse(self, message: str, row: Any, counts: UploadCounts) -> None:
        """A row whose run Docent would refuse: stop, or count it skipped (``skip_invalid``)."""
        if not self.skip_invalid:
            raise ConversionError(message, file=row["file"], line=row["line"])
        counts.skipped += 1

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

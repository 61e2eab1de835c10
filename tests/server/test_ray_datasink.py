"""``DocentDatasink`` against the real Docent server, through the fault proxy: a 429 on every
third batch, and the Ray worker that sent one batch killed right after the server stored it (Ray
runs that write task again). Every run is stored exactly once.

Needs the ``ray`` extra: ``make test-server`` runs this file in the Ray environment.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import write_export
from fault_proxy import FaultProxy
from real_docent import RealDocent
from test_exactly_once import assert_stored_once, heavy_rollouts, names_of

ray = pytest.importorskip("ray", reason="needs the ray extra (make test-server runs it so)")
psutil = pytest.importorskip("psutil")

from nemogym_docent.ray import DocentDatasink, read_nemogym_rollouts  # noqa: E402


@pytest.fixture
def local_ray(server_env: dict[str, str]) -> Iterator[None]:
    """Ray on two CPUs, its workers with the server's environment."""
    os.environ.update(RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", RAY_USAGE_STATS_ENABLED="0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        yield
    finally:
        ray.shutdown()


def kill_the_sender_once(proxy: FaultProxy, after_batches: int) -> threading.Event:
    """Once the server stored batch ``after_batches``, kill the process that sent it."""
    killed = threading.Event()

    def kill(stored: int, port: int) -> bool:
        if stored != after_batches or killed.is_set():
            return False
        for connection in psutil.net_connections(kind="tcp"):
            if connection.laddr and connection.laddr.port == port and connection.pid:
                os.kill(connection.pid, signal.SIGKILL)
                killed.set()
        return killed.is_set()

    proxy.after_stored = kill
    return killed


def test_the_datasink_stores_every_run_once_through_a_busy_server_and_a_retried_task(
    real_docent: RealDocent, server_env: dict[str, str], local_ray: None, tmp_path: Path
) -> None:
    shards = tmp_path / "shards"
    for shard in range(3):
        write_export(shards / f"shard-{shard}.jsonl", heavy_rollouts(7, start=shard * 7, words=50))
    collection = real_docent.create_collection("ray")
    proxy = FaultProxy(real_docent.env["DOCENT_API_URL"], mode="429", every=3).start()
    try:
        killed = kill_the_sender_once(proxy, after_batches=2)
        sink = DocentDatasink(
            collection_id=collection,
            api_key=server_env["DOCENT_API_KEY"],
            api_url=proxy.url,
            frontend_url=server_env["DOCENT_FRONTEND_URL"],
            batch_size=3,
            ledger=str(tmp_path / "ledger.sqlite"),
        )
        read_nemogym_rollouts(str(shards)).write_datasink(sink)
        assert killed.is_set()
        assert proxy.faults() != []
        assert proxy.early() == []
    finally:
        proxy.stop()
    assert_stored_once(real_docent, collection, names_of(shards))
    assert sink.counts.sent + sink.counts.already >= 21

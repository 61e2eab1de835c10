"""Uploads through a misbehaving server: every run of the corpus (405 runs here) in batches of 40,
through the loopback fault proxy of ``tests/server`` in front of a real Docent server, one fault
at every third request adding runs. For each fault: the exit code, the runs stored, duplicates
(one upload key stored twice), the time taken, and requests sent before their ``Retry-After``.

Run from the repository root: ``.venv/bin/python benchmarks/server_faults.py --state DIR`` (the
folder ``../shared/docent-server/start.sh DIR`` made); without it, or without the corpus, it says
so in one line and exits 0. ``--restart`` also restarts the server mid-upload (``start.sh`` runs
with the ports of the environment).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
CLI = Path(sys.executable).with_name("nemogym-docent")
sys.path[:0] = [str(REPO / "tests" / "server"), str(REPO / "tests" / "helpers")]

from fault_proxy import FaultProxy, Mode, RetryAfter  # noqa: E402
from real_docent import SERVING, RealDocent  # noqa: E402

FAULTS: list[tuple[str, Mode, RetryAfter]] = [
    ("429, Retry-After: 2", "429", "seconds"),
    ("429, Retry-After: an HTTP date 2 s on", "429", "date"),
    ("429, no Retry-After", "429", "absent"),
    ("503, Retry-After: 2", "503", "seconds"),
    ("503, Retry-After: an HTTP date 2 s on", "503", "date"),
    ("503, no Retry-After", "503", "absent"),
    ("answer lost after storing", "lost", "seconds"),
    ("answer 3 s late", "slow", "seconds"),
    ("connection reset", "reset", "seconds"),
]


def measure(docent: RealDocent, proxy: FaultProxy, name: str, restart: bool = False) -> None:
    collection = docent.create_collection(f"faults: {name}")
    command = [str(CLI), "upload", str(CORPUS), "--collection-id", collection, "--lenient"]
    command += ["--skip-invalid", "--batch-size", "40", "--api-url", proxy.url, "-q"]
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if restart:  # once the first batch is stored
        deadline = time.monotonic() + 300
        while not docent.run_ids(collection) and time.monotonic() < deadline:
            threading.Event().wait(0.2)
        docent.kill(*SERVING)
        docent.start()
    _, stderr = process.communicate()
    took = time.monotonic() - started
    keys = docent.upload_keys(collection)
    duplicates = sum(count - 1 for count in keys.values())
    print(
        f"| {name} | {process.returncode} | {sum(keys.values())} | {duplicates} | {took:.1f} s "
        f"| {len(proxy.faults())} | {len(proxy.early())} |",
        flush=True,
    )
    if process.returncode:
        print(stderr.decode(), file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", help="the Docent server's state folder")
    parser.add_argument("--restart", action="store_true", help="also restart the server")
    parser.add_argument("--no-faults", action="store_true", help="only the restart")
    parser.add_argument("--every", type=int, default=3)
    arguments, _ = parser.parse_known_args()  # (make bench passes its own options)
    if not arguments.state or not CORPUS.is_dir():
        print("server_faults: skipped (give --state DIR of a running server; needs the corpus)")
        return
    scripts = REPO.parent / "shared" / "docent-server"
    docent = RealDocent(Path(arguments.state), scripts)
    env = docent.env
    os.environ.update(env)
    print("| fault | exit | runs stored | duplicates | time | faults | requests early |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, mode, retry_after in [] if arguments.no_faults else FAULTS:
        wait = 3 if mode == "slow" else 2
        proxy = FaultProxy(env["DOCENT_API_URL"], mode, arguments.every, retry_after, wait)
        proxy.start()
        try:
            measure(docent, proxy, f"{name}, every {arguments.every}")
        finally:
            proxy.stop()
    if arguments.restart:
        proxy = FaultProxy(env["DOCENT_API_URL"]).start()
        try:
            measure(docent, proxy, "server restart mid-upload", restart=True)
        finally:
            proxy.stop()


if __name__ == "__main__":
    main()

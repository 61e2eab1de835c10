"""How fast `nemogym-docent upload` stores runs in a real Docent server, next to Docent's own
`add_agent_runs` on the same runs.

Run from the repository root: ``.venv/bin/python benchmarks/server_upload.py [--runs N]``. It needs
a running server: ``--state DIR`` (the folder ``../shared/docent-server/start.sh DIR`` made), or
``DOCENT_API_KEY`` and ``DOCENT_API_URL`` in the environment; without either it says so in one
line and exits 0. Each side uploads the same runs into a collection of its own. Printed: wall
time, runs/s, and the client's CPU seconds (for ``upload``: the whole command, conversion
included; for ``add_agent_runs``: the call, with the conversion before it shown apart).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
CLI = Path(sys.executable).with_name("nemogym-docent")


def server_env(state: str | None) -> dict[str, str] | None:
    """The key and URLs of the server: from ``STATE/docent.env``, else the environment."""
    if state:
        pairs = (line.split("=", 1) for line in (Path(state) / "docent.env").read_text().split())
        return dict(pairs)
    if os.environ.get("DOCENT_API_KEY") and os.environ.get("DOCENT_API_URL"):
        names = ("DOCENT_API_KEY", "DOCENT_API_URL", "DOCENT_FRONTEND_URL")
        return {name: os.environ[name] for name in names if name in os.environ}
    return None


def rollouts(count: int) -> list[bytes]:
    """``count`` rollout lines: the corpus's, cycled with fresh task indices, else synthetic."""
    from nemogym_docent import convert_nemogym_rollout_to_agent_run  # noqa: PLC0415

    pool: list[dict[str, Any]] = []
    for path in sorted(CORPUS.glob("*.jsonl")) if CORPUS.is_dir() else []:
        for raw in path.read_bytes().splitlines():
            try:
                record = json.loads(raw)
                convert_nemogym_rollout_to_agent_run(record)
            except Exception:  # only records that convert strictly are kept
                continue
            pool.append(record)
    if not pool:
        pool = [_synthetic(index) for index in range(count)]
    lines = []
    for index in range(count):
        record = dict(pool[index % len(pool)])
        record["_ng_task_index"] = index
        record["_ng_rollout_index"] = 0
        lines.append(json.dumps(record).encode())
    return lines


def _synthetic(index: int) -> dict[str, Any]:
    text = f"Question {index}: " + "why " * 200
    return {
        "responses_create_params": {"input": [{"role": "user", "content": text}]},
        "response": {
            "id": f"resp_{index}",
            "model": "bench-model",
            "output": [
                {
                    "type": "message",
                    "role": "assistant",
                    "id": f"msg_{index}",
                    "status": "completed",
                    "content": [
                        {"type": "output_text", "text": "because " * 200, "annotations": []}
                    ],
                }
            ],
        },
        "reward": float(index % 2),
        "agent_ref": {"name": "bench_agent"},
    }


def with_client(env: dict[str, str]) -> Any:
    """Docent's own client for the server, reading no docent.env of the machine."""
    import logging  # noqa: PLC0415

    from docent import Docent  # noqa: PLC0415

    logging.getLogger("docent").setLevel(logging.WARNING)

    empty = Path(tempfile.mkdtemp()) / "docent.env"
    empty.write_text("")
    return Docent(
        api_key=env["DOCENT_API_KEY"],
        api_url=env["DOCENT_API_URL"],
        frontend_url=env.get("DOCENT_FRONTEND_URL", "http://127.0.0.1:3000"),
        config_file=empty,
    )


def bench_upload(export: Path, env: dict[str, str], runs: int, batch: int) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [str(CLI), "upload", str(export), "--collection-name", "bench upload", "-q",
         "--batch-size", str(batch)],
        check=True,
        env={**os.environ, **env, "NEMOGYM_DOCENT_LEDGER": str(export.with_suffix(".ledger"))},
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "runs/s": runs / wall, "cpu": cpu}


def bench_sdk(lines: list[bytes], env: dict[str, str]) -> dict[str, float]:
    from nemogym_docent import convert_nemogym_rollout_to_agent_run  # noqa: PLC0415

    convert_start = time.process_time()
    agent_runs = [convert_nemogym_rollout_to_agent_run(json.loads(line)) for line in lines]
    convert_cpu = time.process_time() - convert_start
    client = with_client(env)
    collection = client.create_collection(name="bench add_agent_runs")
    cpu_start, start = time.process_time(), time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):  # its progress bar
        client.add_agent_runs(collection, agent_runs)
    wall = time.perf_counter() - start
    return {
        "wall": wall,
        "runs/s": len(lines) / wall,
        "cpu": time.process_time() - cpu_start,
        "convert cpu": convert_cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--state", help="the server's state folder (its docent.env)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    options = parser.parse_args()
    env = server_env(options.state)
    if env is None:
        print("server_upload: skipped (no --state and no DOCENT_API_KEY/DOCENT_API_URL)")
        return
    lines = rollouts(options.runs)
    with tempfile.TemporaryDirectory() as folder:
        export = Path(folder) / "bench.jsonl"
        export.write_bytes(b"".join(line + b"\n" for line in lines))
        size = export.stat().st_size
        results = {
            "upload": bench_upload(export, env, len(lines), options.batch_size),
            "add_agent_runs": bench_sdk(lines, env),
        }
    if options.json:
        print(json.dumps({"runs": len(lines), "bytes": size, **results}))
        return
    print(f"{len(lines):,} runs from {size / 1e6:.1f} MB of rollouts")
    for name, result in results.items():
        extra = (
            f", conversion before it {result['convert cpu']:.2f} s"
            if "convert cpu" in result
            else ""
        )
        print(
            f"  {name:<15} {result['wall']:6.1f} s  {result['runs/s']:6.1f} runs/s  "
            f"client CPU {result['cpu']:.2f} s{extra}"
        )


if __name__ == "__main__":
    main()

"""Time ``nemogym_docent.ray`` against ``nemogym-docent convert`` on the same shards.

Run from the repository root in the Ray environment (``make test-ray`` makes it):
``.venv-ray/bin/python scripts/bench_ray.py [--mb 64] [--shards 8] [--cpus 2]``.
It writes ``--shards`` gzip shards of replicated example (and, where present, corpus) records to
a temporary directory, converts them with the command line (``--workers 1`` and ``--workers N``)
and with Ray in local mode (twice: with fresh workers, then with workers that have already
imported the converter), checks that the outputs are the same bytes, and prints the times.
"""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import CLI, CORPUS, MB, docent_accepted_corpus_records, example_templates
from bench import replicated_lines as replicated


def write_shards(directory: Path, total_bytes: int, shards: int) -> int:
    templates = example_templates()
    if CORPUS.is_dir():
        templates += docent_accepted_corpus_records()
    lines = list(replicated(templates, total_bytes))
    per_shard = -(-len(lines) // shards)
    for shard in range(shards):
        part = lines[shard * per_shard : (shard + 1) * per_shard]
        data = b"".join(line + b"\n" for line in part)
        (directory / f"rollouts-{shard:03d}.jsonl.gz").write_bytes(gzip.compress(data, 1))
    return sum(len(line) + 1 for line in lines)


def time_cli(shards: Path, output: Path, workers: int) -> float:
    start = time.perf_counter()
    command = [str(CLI), "convert", str(shards), "-o", str(output), "-q", "--workers", str(workers)]
    subprocess.run(command, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=64, help="uncompressed size of all shards")
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--cpus", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # loopback only
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

    import ray  # noqa: PLC0415 (after the environment is set)

    from nemogym_docent.ray import read_nemogym_rollouts, write_agent_runs  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        shards = root / "shards"
        shards.mkdir()
        size = write_shards(shards, args.mb * MB, args.shards)
        print(f"{args.shards} shards, {size / MB:.1f} MB of JSONL (gzip)", file=sys.stderr)
        cli_1 = time_cli(shards, root / "cli-1.jsonl", 1)
        cli_n = time_cli(shards, root / "cli-n.jsonl", args.cpus)

        start = time.perf_counter()
        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
        ray_start = time.perf_counter() - start
        ray.data.DataContext.get_current().enable_progress_bars = False
        ray_convert = []
        for attempt in ("cold", "warm"):  # warm: the workers have imported the converter
            start = time.perf_counter()
            dataset = read_nemogym_rollouts(str(shards), preserve_order=True)
            write_agent_runs(dataset, str(root / "ray"), mode="overwrite")
            ray_convert.append((attempt, time.perf_counter() - start))
        ray.shutdown()

        parts = sorted((root / "ray").glob("part-*.jsonl"))
        same = b"".join(part.read_bytes() for part in parts) == (root / "cli-1.jsonl").read_bytes()
        same = same and (root / "cli-n.jsonl").read_bytes() == (root / "cli-1.jsonl").read_bytes()
    rows = [
        ("convert --workers 1", cli_1),
        (f"convert --workers {args.cpus}", cli_n),
        (f"ray.init(num_cpus={args.cpus})", ray_start),
        *(
            (f"read_nemogym_rollouts + write_agent_runs, {attempt}", seconds)
            for attempt, seconds in ray_convert
        ),
    ]
    for name, seconds in rows:
        rate = "" if name.startswith("ray.init") else f"  {size / MB / seconds:6.1f} MB/s"
        print(f"{name:<50} {seconds:7.1f} s{rate}")
    print(f"{len(parts)} part files; same bytes as convert: {same}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()

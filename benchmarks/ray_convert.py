"""How fast is ``nemogym_docent.ray`` against ``nemogym-docent convert`` on the same shards?

Run from the repository root in the Ray environment (``make test-ray`` makes it):
``.venv-ray/bin/python benchmarks/ray_convert.py [--quick]``; elsewhere it says so in one line.
It writes eight gzip shards of replicated example (and, where present, corpus) records, of
``--small-mb`` in all, converts them with the command line (``--workers 1`` and ``2``) and with
Ray in local mode on two CPUs (twice: with fresh workers, then with workers that have already
imported the converter), checks that the outputs are the same bytes, and prints the times.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import subprocess
import tempfile
import time
from pathlib import Path

from _common import (
    CLI,
    MB,
    Verdict,
    corpus_files,
    docent_accepted,
    example_templates,
    footer,
    header,
    replicated_lines,
    report_verdicts,
    settings,
)

SHARDS = 8
CPUS = 2


def write_shards(directory: Path, total_bytes: int) -> int:
    templates = example_templates() + docent_accepted(corpus_files())
    lines = list(replicated_lines(templates, total_bytes))
    per_shard = -(-len(lines) // SHARDS)
    for shard in range(SHARDS):
        data = b"".join(line + b"\n" for line in lines[shard * per_shard : (shard + 1) * per_shard])
        (directory / f"rollouts-{shard:03d}.jsonl.gz").write_bytes(gzip.compress(data, 1))
    return sum(len(line) + 1 for line in lines)


def time_cli(shards: Path, output: Path, workers: int) -> float:
    start = time.perf_counter()
    command = [str(CLI), "convert", str(shards), "-o", str(output), "-q", "--workers", str(workers)]
    subprocess.run(command, check=True)
    return time.perf_counter() - start


def main() -> None:
    options = settings(__doc__.splitlines()[0])
    if importlib.util.find_spec("ray") is None:
        print("ray_convert: skipped (Ray is not installed here; run it with .venv-ray/bin/python)")
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray  # noqa: PLC0415 (after the environment is set)

    from nemogym_docent.ray import read_nemogym_rollouts, write_agent_runs  # noqa: PLC0415

    header("Ray Data against the command line", f"{SHARDS} gzip shards, wall time.")
    with tempfile.TemporaryDirectory(prefix="nemogym-bench-") as temporary:
        root = Path(temporary)
        shards = root / "shards"
        shards.mkdir()
        size = write_shards(shards, int(options.small_mb * MB))
        cli_1 = time_cli(shards, root / "cli-1.jsonl", 1)
        cli_n = time_cli(shards, root / "cli-n.jsonl", CPUS)
        start = time.perf_counter()
        ray.init(num_cpus=CPUS, include_dashboard=False, log_to_driver=False)
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
        expected = (root / "cli-1.jsonl").read_bytes()
        same = b"".join(part.read_bytes() for part in parts) == expected
        same = same and (root / "cli-n.jsonl").read_bytes() == expected
    print(f"\n{SHARDS} shards, {size / MB:.1f} MB of JSONL (gzip)")
    rows = [
        ("convert --workers 1", cli_1),
        (f"convert --workers {CPUS}", cli_n),
        (f"ray.init(num_cpus={CPUS})", ray_start),
        *(
            (f"read_nemogym_rollouts + write_agent_runs, {attempt}", seconds)
            for attempt, seconds in ray_convert
        ),
    ]
    for name, seconds in rows:
        rate = "" if name.startswith("ray.init") else f"  {size / MB / seconds:6.1f} MB/s"
        print(f"{name:<50} {seconds:7.1f} s{rate}")
    print(f"{len(parts)} part files; same bytes as convert: {same}")
    report_verdicts(
        options,
        [Verdict("Ray output: the same bytes as convert", f"{len(parts)} part files", same)],
    )
    footer()


if __name__ == "__main__":
    main()

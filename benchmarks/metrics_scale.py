"""NeMo Gym's metrics at scale: nemogym-docent against NeMo Gym 0.7's own aggregation.

Run from the repository root: ``.venv/bin/python benchmarks/metrics_scale.py [--quick]``.
The same number of rows twice: many tasks of 16 rollouts, and few tasks of 256. Each row is a
0.7 result with a binary reward and an ``extracted_answer`` (so majority@k and no_answer run
too). Timed, interleaved in one process:

- nemogym-docent: ``analysis.metrics.MetricsGroup`` (what ``summary`` and ``compare`` run for
  each agent): every row added, then ``metrics()``;
- NeMo Gym 0.7: ``reward_profile.compute_aggregate_metrics`` with
  ``compute_pass_majority_metrics`` as its ``compute_metrics_fn`` (what its ``/aggregate_metrics``
  does for a benchmark with an answer field), on the same rows (``_nemo_gym.py`` says how its
  code is reached).

Both give the same pass@k, pass@1[avg-of-k] and majority@k, checked before timing.
"""

from __future__ import annotations

import random
from typing import Any

from _common import Verdict, footer, header, interleaved, print_table, report_verdicts, settings
from _nemo_gym import reward_profile

from nemogym_docent.analysis.metrics import MetricsGroup
from nemogym_docent.identity import read_task

ANSWER = "extracted_answer"


def rows(tasks: int, rollouts: int, seed: int) -> list[dict[str, Any]]:
    draw = random.Random(seed)
    made = []
    for task in range(tasks):
        skill = draw.random()
        for rollout in range(rollouts):
            passed = draw.random() < skill
            made.append(
                {
                    "_ng_task_index": task,
                    "_ng_rollout_index": rollout,
                    "_ng_environment_server": "math_with_judge",
                    "_ng_result_type": "single_agent_turn",
                    "reward": 1.0 if passed else 0.0,
                    ANSWER: None if draw.random() < 0.05 else str(draw.randrange(4)),
                    "mask_sample": False,
                }
            )
    return made


def ours(data: list[dict[str, Any]]) -> dict[str, float]:
    group = MetricsGroup()
    for row in data:
        group.add(row, read_task(row).group)
    return group.metrics()


def theirs(module: Any, data: list[dict[str, Any]]) -> dict[str, Any]:
    def pass_majority(tasks: list[list[dict[str, Any]]]) -> dict[str, Any]:
        return module.compute_pass_majority_metrics(tasks, answer_key=ANSWER)[0]

    aggregate = module.compute_aggregate_metrics(data, compute_metrics_fn=pass_majority)
    return dict(aggregate.agent_metrics)


def same_numbers(mine: dict[str, float], nemo: dict[str, Any]) -> bool:
    shared = [k for k in mine if k.startswith(("pass@", "majority@"))]
    return bool(shared) and all(
        abs(mine[k] - float(nemo[k])) <= 1e-9 * max(1, abs(mine[k])) for k in shared
    )


def main() -> None:
    options = settings(__doc__.splitlines()[0])
    header("NeMo Gym's metrics at scale", "In-process, interleaved; best CPU time of the runs.")
    module = reward_profile()
    total = 4_096 if options.quick else 16_384
    shapes = {16: rows(total // 16, 16, 1), 256: rows(total // 256, 256, 2)}
    for per_task, data in shapes.items():
        if not same_numbers(ours(data), theirs(module, data)):
            raise SystemExit(f"different numbers at {per_task} rollouts a task")
    runs: dict[str, Any] = {}
    for per_task, data in shapes.items():
        runs[f"nemogym-docent {per_task}"] = lambda data=data: ours(data)
        runs[f"NeMo Gym {per_task}"] = lambda data=data: theirs(module, data)
    timings = interleaved(runs, max(options.repeat, 3))
    best = {name: timing.best for name, timing in timings.items()}
    table = []
    for per_task, data in shapes.items():
        mine, nemo = best[f"nemogym-docent {per_task}"], best[f"NeMo Gym {per_task}"]
        shape = f"{len(data) // per_task} tasks × {per_task}"
        table.append([shape, f"{mine:.3f}", f"{nemo:.3f}", f"{nemo / mine:.1f}×"])
    print(f"\n### {total:,} rows, CPU seconds\n")
    print_table(["rows", "nemogym-docent", "NeMo Gym 0.7", "NeMo Gym ÷ ours"], table)
    growth = best["nemogym-docent 256"] / best["nemogym-docent 16"]
    print(f"\nnemogym-docent, 256 ÷ 16 rollouts a task (same rows): {growth:.2f}×")
    verdicts = [
        Verdict(
            f"metrics ≥ 3× faster than NeMo Gym 0.7's aggregation at {per_task} a task",
            f"{best[f'NeMo Gym {per_task}'] / best[f'nemogym-docent {per_task}']:.1f}×",
            best[f"NeMo Gym {per_task}"] >= 3 * best[f"nemogym-docent {per_task}"],
        )
        for per_task in shapes
    ]
    verdicts.append(
        Verdict("metrics at 256 a task ≤ 1.3× at 16 (same rows)", f"{growth:.2f}×", growth <= 1.3)
    )
    report_verdicts(options, verdicts)
    footer()


if __name__ == "__main__":
    main()

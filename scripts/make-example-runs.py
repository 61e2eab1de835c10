"""Write examples/runs/baseline/ and examples/runs/candidate/: two runs of one math agent on the
same five tasks, two rollouts each, for the `compare`, `summary` and `--contrast` examples.

Task 1's rollouts disagree in both runs; task 2 flips from pass to fail, task 4 from fail to pass.
Run from the repository root: `python scripts/make-example-runs.py` (it rewrites the files)."""

from __future__ import annotations

import json
from pathlib import Path

QUESTIONS = [
    ("What is 17 * 3?", "51"),
    ("What is the sum of the first 20 odd numbers?", "400"),
    ("What is 2 to the power 10?", "1024"),
    ("How many primes are below 30?", "10"),
    ("What is the square root of 1369?", "37"),
]
REWARDS = {
    "baseline": [(1, 1), (1, 0), (1, 1), (0, 0), (0, 0)],
    "candidate": [(1, 1), (1, 0), (0, 0), (0, 0), (1, 1)],
}
MODELS = {"baseline": "Qwen/Qwen3-30B-A3B", "candidate": "Qwen/Qwen3-30B-A3B-step40"}


def rollout(run: str, task: int, attempt: int, reward: int) -> dict[str, object]:
    question, answer = QUESTIONS[task]
    given = answer if reward else str(int(answer) + 1)
    return {
        "responses_create_params": {
            "input": [
                {"role": "user", "content": f"{question} Put the answer in \\boxed{{}}."},
            ],
            "temperature": 0.6,
        },
        "response": {
            "id": f"resp_{run}_{task}_{attempt}",
            "model": MODELS[run],
            "output": [
                {
                    "type": "message",
                    "id": f"msg_{run}_{task}_{attempt}",
                    "role": "assistant",
                    "status": "completed",
                    "content": [
                        {"type": "output_text", "text": f"\\boxed{{{given}}}", "annotations": []}
                    ],
                }
            ],
        },
        "reward": float(reward),
        "expected_answer": answer,
        "extracted_answer": given,
        "agent_ref": {"type": "responses_api_agents", "name": "math_agent"},
        "_ng_task_index": task,
        "_ng_rollout_index": attempt,
    }


def main() -> None:
    for run, rewards in REWARDS.items():
        folder = Path("examples/runs") / run
        folder.mkdir(parents=True, exist_ok=True)
        lines = [
            json.dumps(rollout(run, task, attempt, reward), ensure_ascii=False)
            for task, pair in enumerate(rewards)
            for attempt, reward in enumerate(pair)
        ]
        (folder / "math_rollouts.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

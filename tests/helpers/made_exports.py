"""Made NeMo Gym 0.7 exports for the reports: several agents, binary and continuous rewards,
masked rollouts, failed attempts and ng_perf, with repeats."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any


def rollouts(
    seed: int,
    *,
    agents: dict[str, float],
    tasks: int,
    repeats: int,
    continuous: bool = False,
    masked: float = 0.0,
    question: str = "question",
) -> list[dict[str, Any]]:
    """Rows of each agent (name → skill) for every task and repeat."""
    draw = random.Random(seed)
    rows = []
    for agent, skill in agents.items():
        for task in range(tasks):
            hardness = draw.random()
            for repeat in range(repeats):
                value = draw.random() * skill / max(hardness, 0.05)
                reward = round(min(value, 1.0), 3) if continuous else float(value > 0.5)
                row: dict[str, Any] = {
                    "agent_ref": {"name": agent},
                    "_ng_environment_server": agent,
                    "_ng_result_type": "legacy_agent",
                    "_ng_task_index": task,
                    "_ng_rollout_index": repeat,
                    "responses_create_params": {
                        "input": [{"role": "user", "content": f"{question} {task}"}]
                    },
                    "response": {"output": [], "usage": {"input_tokens": 10, "output_tokens": 5}},
                    "reward": reward,
                    "extracted_answer": str(int(reward)),
                    "ng_perf": {
                        "num_turns": 1,
                        "num_tool_calls": 0,
                        "token_observability_coverage": 1.0,
                        "prompt_tokens": 100 + task,
                        "completion_tokens": 20 + repeat,
                        "total_latency_ms": 500.0 + 10 * draw.random() * task,
                    },
                }
                if draw.random() < masked:
                    row.update(
                        mask_sample=True, failure_kind="judge_failed", failure_reason="judge down"
                    )
                rows.append(row)
    return rows


def failed_attempts(agent: str, tasks: int) -> list[dict[str, Any]]:
    """One failed attempt per task, alternating two failure classes."""
    return [
        {
            "agent_ref": {"name": agent},
            "_ng_environment_server": agent,
            "_ng_task_index": task,
            "_ng_rollout_index": 99,
            "_ng_attempt_index": 0,
            "_ng_failure_class": "agent_request_failed"
            if task % 2
            else "environment_server_failed",
            "_ng_failure_message": "503",
            "_ng_failure_terminal": True,
        }
        for task in range(tasks)
    ]


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path

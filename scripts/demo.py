"""Convert the bundled example rollouts, print a summary and write the AgentRuns as JSONL."""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson

from nemogym_docent import iter_nemogym_jsonl_file_to_agent_runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("input", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()

    print(f"{'run':<58} {'messages':>8} {'tool calls':>10} {'reward':>7}")
    runs = 0
    with args.output.open("wb") as out:
        for run in iter_nemogym_jsonl_file_to_agent_runs(args.input):
            runs += 1
            messages = run.transcripts[0].messages
            tool_calls = sum(
                len(getattr(message, "tool_calls", None) or []) for message in messages
            )
            reward = run.metadata.get("scores", {}).get("reward")
            print(f"{run.name:<58} {len(messages):>8} {tool_calls:>10} {reward!s:>7}")
            out.write(orjson.dumps(run.model_dump(mode="json", exclude={"id"})) + b"\n")
    print(f"\n{runs} AgentRuns written to {args.output}")


if __name__ == "__main__":
    main()

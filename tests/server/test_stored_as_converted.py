"""Against the real Docent server: everything a user can upload (every corpus file and spec
example, strict and lenient, default and full detail, failed attempts, task groups, contrast,
``compare --upload``) uploads with exit 0, and every run reads back as ``convert`` wrote it:
runs, transcripts, groups, messages and metadata, with the ids and what the upload adds aside."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import SCRIPT, assert_no_traceback
from parity import CORPUS, SPEC_EXAMPLES
from real_docent import RealDocent

COMMON = ("--failures", "--skip-invalid", "-q")
MODES = {
    "strict default": (),
    "lenient default": ("--lenient",),
    "strict full": ("--detail", "full"),
    "lenient full": ("--lenient", "--detail", "full"),
    "group by task": ("--lenient", "--group-by", "task"),
    "contrast, full": ("--lenient", "--detail", "full", "--contrast", "--group-by", "task"),
}
ADDED = ("upload_key", "title")
"""What an upload adds to a run's metadata (the title is the run's name)."""


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The corpus, and the spec's examples as JSONL (a JSON example as one line)."""
    if not CORPUS.is_dir() or not SPEC_EXAMPLES.is_dir():
        pytest.skip("../shared/corpus or ../shared/spec/examples is not present")
    examples = tmp_path_factory.mktemp("examples")
    for path in SPEC_EXAMPLES.rglob("*"):
        target = examples / path.relative_to(SPEC_EXAMPLES)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif path.suffix == ".json":
            line = json.dumps(json.loads(path.read_text("utf-8")))
            target.with_suffix(".jsonl").write_text(line + "\n", "utf-8")
        elif path.suffix == ".jsonl":
            shutil.copyfile(path, target)
    return [str(CORPUS), str(examples)]


def run(*args: str) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run([str(SCRIPT), *args], capture_output=True, timeout=900, check=False)
    assert_no_traceback(done.stderr)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return done


def converted(inputs: list[str], options: tuple[str, ...]) -> list[dict[str, Any]]:
    lines = run("convert", *inputs, *options).stdout.splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def uploaded(real_docent: RealDocent, inputs: list[str], options: tuple[str, ...]) -> str:
    name = f"stored-as-converted-{uuid.uuid4().hex[:8]}"
    run("upload", *inputs, "--collection-name", name, *options)
    (collection_id,) = real_docent.collections_named(name)
    return collection_id


def value(item: Any) -> Any:
    """A JSON value compared as stored: a number as a float (the database writes 1.0 as 1, and
    -0.0 as 0), a boolean as itself, an absent or empty value as absent (the server's own models
    write ``null`` for fields ours leave out, and the shim turns ``null`` metadata into ``{}``)."""
    if isinstance(item, bool) or item is None or isinstance(item, str):
        return item
    if isinstance(item, int | float):
        return float(item) + 0.0
    if isinstance(item, list):
        return [value(element) for element in item]
    return {key: value(v) for key, v in item.items() if v not in (None, {}, []) or key == "content"}


def group_paths(run_: dict[str, Any]) -> dict[str, str]:
    """Each group's id as the path of names from the run's top (ids differ; names do not)."""
    by_id = {group["id"]: group for group in run_["transcript_groups"]}

    def path(group_id: str, seen: frozenset[str] = frozenset()) -> str:
        group = by_id[group_id]
        parent = group["parent_transcript_group_id"]
        own = group["name"]
        return (
            own if parent is None or parent in seen else f"{path(parent, seen | {group_id})}/{own}"
        )

    return {group_id: path(group_id) for group_id in by_id}


def shape(run_: dict[str, Any], *, stored: bool) -> str:
    """The run as one canonical text, ids aside. A time the conversion left unset is the
    server's to choose (the upload's), so it is left out on both sides."""
    paths = group_paths(run_)
    timed = len(run_["transcripts"]) > 1  # full detail times a run of several transcripts
    metadata = dict(run_["metadata"])
    if stored:
        assert metadata.pop("title") == run_["name"]
        metadata.pop("upload_key")
        assert {group["agent_run_id"] for group in run_["transcript_groups"]} <= {run_["id"]}
    transcripts = sorted(
        json.dumps(
            value(
                {
                    "name": t["name"],
                    "group": paths.get(t["transcript_group_id"] or ""),
                    "created_at": t["created_at"] if timed else None,
                    "messages": [{k: v for k, v in m.items() if k != "id"} for m in t["messages"]],
                    "metadata": t["metadata"],
                }
            ),
            sort_keys=True,
        )
        for t in run_["transcripts"]
    )
    groups = sorted(
        json.dumps(
            value(
                {
                    "path": paths[g["id"]],
                    "created_at": g["created_at"],
                    "metadata": g["metadata"],
                    "description": g.get("description"),
                }
            ),
            sort_keys=True,
        )
        for g in run_["transcript_groups"]
    )
    whole = {"name": run_["name"], "metadata": value(metadata), "transcripts": transcripts,
             "groups": groups}  # fmt: skip
    return json.dumps(whole, sort_keys=True)


def assert_stored_as_converted(
    real_docent: RealDocent, collection_id: str, expected: list[dict[str, Any]]
) -> int:
    """Every stored run is a converted one and every converted run is stored (a line given twice
    under one name is one run: its upload key is the same); the count compared."""
    stored = real_docent.runs(collection_id)
    want = {shape(run_, stored=False) for run_ in expected}
    got = [shape(run_, stored=True) for run_ in stored]
    assert len(got) == len(set(got)) == len(want)
    missing = want - set(got)
    assert not missing, _first_difference(sorted(missing)[0], sorted(set(got) - want))
    return len(got)


def _first_difference(wanted: str, stored: list[str]) -> str:
    """The first differing key of the stored run of the same name (for a readable failure)."""
    want = json.loads(wanted)
    same_name = [json.loads(s) for s in stored if json.loads(s)["name"] == want["name"]]
    if not same_name:
        return f"not stored: {want['name']}"
    got = same_name[0]
    for key in want:
        if want[key] != got.get(key):
            text = f"converted {want[key]}\n  stored    {got.get(key)}"
            return f"{want['name']}: {key} differs:\n  {text}"[:4000]
    return want["name"]


@pytest.mark.usefixtures("server_env")
@pytest.mark.parametrize("mode", list(MODES))
def test_every_input_is_stored_as_converted(
    real_docent: RealDocent, inputs: list[str], mode: str
) -> None:
    options = (*COMMON, *MODES[mode])
    expected = converted(inputs, options)
    assert expected
    collection_id = uploaded(real_docent, inputs, options)
    count = assert_stored_as_converted(real_docent, collection_id, expected)
    print(f"{mode}: {count} runs stored and compared")


def changed_rewards(lines: Iterator[str]) -> Iterator[str]:
    """The same rollouts with other rewards: 0/1 flipped, others up on even tasks and down on odd
    ones (so that compare finds flips both ways, binary and continuous)."""
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:
            yield line
            continue
        reward = row.get("reward") if isinstance(row, dict) else None
        if type(reward) in (int, float):
            if reward in (0, 1):
                row["reward"] = 1 - reward
            else:
                even = isinstance(row.get("_ng_task_index"), int) and row["_ng_task_index"] % 2 == 0
                row["reward"] = reward + (0.25 if even else -0.25)
        yield json.dumps(row)


@pytest.mark.usefixtures("server_env")
def test_compare_upload_stores_both_sides_as_converted(
    real_docent: RealDocent, inputs: list[str], tmp_path: Path
) -> None:
    baseline = Path(inputs[0])
    candidate = tmp_path / "candidate"
    candidate.mkdir()
    for path in sorted(baseline.glob("*.jsonl")):
        lines = path.read_text("utf-8").splitlines()
        (candidate / path.name).write_text("\n".join(changed_rewards(iter(lines))) + "\n", "utf-8")
    options = ("--lenient", "--detail", "full", "--skip-invalid", "-q")
    name = f"compare-{uuid.uuid4().hex[:8]}"
    run("compare", str(baseline), str(candidate), "--upload", "--collection-name", name, *options)
    (collection_id,) = real_docent.collections_named(name)
    sides = {
        "baseline": {shape(r, stored=False) for r in converted([str(baseline)], options)},
        "candidate": {shape(r, stored=False) for r in converted([str(candidate)], options)},
    }
    stored = real_docent.runs(collection_id)
    directions: set[tuple[str, bool]] = set()
    for run_ in stored:
        compare = run_["metadata"].pop("compare")
        run_["metadata"]["nemogym"].pop("task_key")
        side = compare["side"]
        directions.add((compare["direction"], compare["delta"] > 0))
        assert run_["name"].startswith(f"{side}: ")
        run_["name"] = run_["name"].removeprefix(f"{side}: ")
        run_["metadata"]["title"] = run_["name"]
        assert shape(run_, stored=True) in sides[side], run_["name"]
    assert directions >= {
        ("pass_to_fail", False),
        ("fail_to_pass", True),
        ("changed", True),
        ("changed", False),
    }
    print(f"compare --upload: {len(stored)} runs stored and compared")

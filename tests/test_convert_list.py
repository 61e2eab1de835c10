"""The list function and the cyclic garbage collector: the runs are built with it paused and
join its oldest generation; the collector's state and the process's frozen objects are kept."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from parity import EXAMPLES

from nemogym_docent import ConversionError, convert_nemogym_jsonl_file_to_agent_runs


@pytest.fixture
def collector_state() -> Iterator[None]:
    """Restore the collector's switch and frozen objects whatever a test leaves."""
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()
    else:
        gc.disable()


def _in_oldest_generation(value: object) -> bool:
    return any(tracked is value for tracked in gc.get_objects(generation=2))


@pytest.mark.usefixtures("collector_state")
@pytest.mark.parametrize("enabled", [True, False])
def test_runs_join_the_oldest_generation_and_the_switch_is_kept(enabled: bool) -> None:
    gc.unfreeze()
    gc.enable() if enabled else gc.disable()
    runs = convert_nemogym_jsonl_file_to_agent_runs(EXAMPLES)
    assert gc.isenabled() is enabled
    assert gc.get_freeze_count() == 0
    assert runs
    assert all(_in_oldest_generation(run) for run in runs)


@pytest.mark.usefixtures("collector_state")
def test_objects_the_process_froze_stay_frozen() -> None:
    """Checked on an object of the test's own: the freeze count alone moves whenever another
    thread of the process (pytest-xdist's) frees a frozen object."""
    gc.disable()  # no collection may move the runs on its own
    held = [object()]
    gc.freeze()
    assert not _tracked(held)
    runs = convert_nemogym_jsonl_file_to_agent_runs(EXAMPLES)
    assert not _tracked(held)  # still in the permanent generation
    assert not any(_in_oldest_generation(run) for run in runs)


def _tracked(value: object) -> bool:
    """Whether the collector's generations hold ``value`` (a frozen object is in none)."""
    return any(tracked is value for tracked in gc.get_objects())


@pytest.mark.usefixtures("collector_state")
def test_a_refused_file_leaves_the_collector_as_it_was(tmp_path: Path) -> None:
    gc.unfreeze()
    gc.enable()
    path = tmp_path / "bad.jsonl"
    path.write_bytes(EXAMPLES.read_bytes().splitlines()[0] + b"\n[]\n")
    with pytest.raises(ConversionError):
        convert_nemogym_jsonl_file_to_agent_runs(path)
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0

"""Full detail: a rollout's scores, by NeMo Gym's own rule for per-rollout metrics.

NeMo Gym counts every top-level integer, float or boolean of a rollout as a metric. Here the
scores are ``reward`` (any value, as Docent's converter stores it), then every such top-level
value except the ``_ng_*`` identity keys and the verdict on the reward (``mask_sample``, a
verdict rather than a metric), in record order, then each number or boolean of
``reward_components``. A component whose name a metric of another value already holds (or
``reward``) is named ``reward_components/<name>``; one equal to that metric is the same score,
since NeMo Gym writes each component at the top level too. Booleans stay booleans.

A score is named as NeMo Gym names its metrics, with ``/`` between the parts of a name: a dot
becomes ``/`` (``quality.safety`` is ``quality/safety``), since Docent's page reads a dotted
field name as a path and finds nothing there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nemogym_docent.identity import VERDICT_KEYS

REWARD = "reward"
COMPONENTS = "reward_components"
_IDENTITY_PREFIX = "_ng_"
_CLASH_PREFIX = f"{COMPONENTS}/"


@dataclass
class RolloutScores:
    """The scores, and the top-level fields left once what became a score is taken out."""

    scores: dict[str, Any]
    remaining_fields: dict[str, Any] = field(default_factory=dict)


def is_metric(key: str, value: Any) -> bool:
    """Whether a top-level key and value form a per-rollout metric."""
    is_number = type(value) in (int, float, bool)
    return (
        is_number
        and key != REWARD
        and not key.startswith(_IDENTITY_PREFIX)
        and key not in VERDICT_KEYS
    )


def rollout_scores(reward: Any, fields: Mapping[str, Any]) -> RolloutScores:
    """Split the rollout's other top-level ``fields`` into scores and what stays raw."""
    scores: dict[str, Any] = {REWARD: reward}
    remaining: dict[str, Any] = {}
    for key, value in fields.items():
        if is_metric(key, value) and score_name(key) not in scores:
            scores[score_name(key)] = value
        else:
            remaining[key] = value
    components = remaining.get(COMPONENTS)
    if isinstance(components, Mapping):
        left = _add_components(scores, components)
        if left:
            remaining[COMPONENTS] = left
        else:
            del remaining[COMPONENTS]
    return RolloutScores(scores, remaining)


def score_name(name: str) -> str:
    """A metric's name as a score: NeMo Gym's ``/`` for each dot."""
    return name.replace(".", "/")


def _add_components(scores: dict[str, Any], components: Mapping[str, Any]) -> dict[str, Any]:
    """Add each numeric component to ``scores``; return the components that stay raw."""
    left: dict[str, Any] = {}
    for name, value in components.items():
        if type(value) not in (int, float, bool):
            left[name] = value
            continue
        own = score_name(name)
        if own != REWARD and own in scores and _same(scores[own], value):
            continue
        named = own if own != REWARD and own not in scores else _CLASH_PREFIX + own
        if named in scores:
            left[name] = value
        else:
            scores[named] = value
    return left


def _same(first: Any, second: Any) -> bool:
    return isinstance(first, bool) == isinstance(second, bool) and first == second

"""Full detail: NeMo Gym 0.7's own fields of a row, out of the raw metadata and into their place.

The collector's stamps (environment server, result type, durable task id, attempt, rollout id)
and the verdict on the reward join ``metadata.nemogym``; so does the summary of the model-call
capture (its rollout id, metrics and gaps). ``ng_perf``'s numbers become scores named
``ng_perf/<name>``. A masked reward (``mask_sample: true``) is not a measurement: it leaves the
scores and stays, named as masked, in the verdict.
"""

from __future__ import annotations

from typing import Any, Final

from nemogym_docent.identity import VERDICT_KEYS, Identity, read_verdict
from nemogym_docent.mapping.full.scores import REWARD, rollout_scores

STAMPS: Final = {
    "_ng_environment_server": "environment_server",
    "_ng_result_type": "result_type",
    "_ng_task_id": "task_id",
    "_ng_attempt_index": "attempt_index",
}
ROLLOUT_ID: Final = "_ng_rollout_id"
CAPTURE: Final = "ng_model_call_capture"
_CAPTURE_SHOWN: Final = ("rollout_id", "metrics", "gaps")
PERF: Final = "ng_perf"
MASKED_REWARD: Final = "masked_reward"


def take_nemogym_fields(fields: dict[str, Any], identity: Identity) -> dict[str, Any]:
    """What ``metadata.nemogym`` gains from a row's top-level ``fields`` (the row's
    ``identity`` gives its canonical rollout id), taken out of them."""
    gained: dict[str, Any] = {}
    stamped = any(key in fields for key in (*STAMPS, ROLLOUT_ID))
    for key, name in STAMPS.items():
        if key in fields:
            gained[name] = fields.pop(key)
    fields.pop(ROLLOUT_ID, None)
    if stamped:
        gained["rollout_id"] = identity.canonical_rollout_id
    verdict = read_verdict(fields)
    if verdict is not None:
        for key in VERDICT_KEYS:
            fields.pop(key, None)
        gained["verdict"] = verdict.as_metadata()
    capture = fields.get(CAPTURE)
    if isinstance(capture, dict):
        gained[CAPTURE] = {key: capture[key] for key in _CAPTURE_SHOWN if key in capture}
        rest = {key: value for key, value in capture.items() if key not in _CAPTURE_SHOWN}
        if rest:
            fields[CAPTURE] = rest
        else:
            del fields[CAPTURE]
    return gained


def finish_full_metadata(
    reward: Any, fields: dict[str, Any], nemogym: dict[str, Any]
) -> dict[str, Any]:
    """The scores of a row: ``reward`` (unless masked), NeMo Gym's metrics, ``ng_perf``.

    What becomes a score leaves ``fields``; a masked reward goes to ``nemogym["verdict"]``.
    """
    scores = rollout_scores(reward, fields)
    fields.clear()
    fields.update(scores.remaining_fields)
    perf = fields.get(PERF)
    if isinstance(perf, dict):
        left = {}
        for name, value in perf.items():
            if type(value) in (int, float, bool):
                scores.scores[f"{PERF}/{name}"] = value
            else:
                left[name] = value
        if left:
            fields[PERF] = left
        else:
            del fields[PERF]
    verdict = nemogym.get("verdict")
    if isinstance(verdict, dict) and verdict.get("mask_sample") is True:
        verdict[MASKED_REWARD] = scores.scores.pop(REWARD)
    return scores.scores

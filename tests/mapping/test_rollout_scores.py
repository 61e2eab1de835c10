"""Full detail's scores: NeMo Gym's metrics and reward components, and what stays raw."""

from __future__ import annotations

from nemogym_docent.mapping.full.scores import rollout_scores


def test_top_level_numbers_and_booleans_become_scores_in_record_order() -> None:
    split = rollout_scores(
        0.5,
        {
            "is_correct": True,
            "f1": 0.25,
            "num_steps": 3,
            "expected_answer": "42",
            "details": {"tests": 4},
            "judge_points": None,
            "_ng_attempt_index": 2,
            "_ng_rollout_id": "3-1",
        },
    )
    assert split.scores == {"reward": 0.5, "is_correct": True, "f1": 0.25, "num_steps": 3}
    assert list(split.scores) == ["reward", "is_correct", "f1", "num_steps"]
    assert split.remaining_fields == {
        "expected_answer": "42",
        "details": {"tests": 4},
        "judge_points": None,
        "_ng_attempt_index": 2,
        "_ng_rollout_id": "3-1",
    }


def test_booleans_stay_booleans() -> None:
    scores = rollout_scores(1, {"resolved": False, "hit": 1}).scores
    assert scores["resolved"] is False
    assert type(scores["hit"]) is int


def test_reward_is_kept_as_it_is() -> None:
    assert rollout_scores({"odd": "reward"}, {}).scores == {"reward": {"odd": "reward"}}
    assert rollout_scores(None, {"f1": 1.0}).scores == {"reward": None, "f1": 1.0}


def test_components_become_scores_and_leave_the_raw_fields() -> None:
    split = rollout_scores(2.0, {"reward_components": {"correctness": 1.0, "format": 0.0}})
    assert split.scores == {"reward": 2.0, "correctness": 1.0, "format": 0.0}
    assert split.remaining_fields == {}


def test_a_component_written_at_the_top_level_too_is_one_score() -> None:
    split = rollout_scores(
        1.0, {"correctness": 1.0, "reward_components": {"correctness": 1.0, "style": 0.5}}
    )
    assert split.scores == {"reward": 1.0, "correctness": 1.0, "style": 0.5}
    assert split.remaining_fields == {}


def test_a_clashing_component_is_named_after_reward_components() -> None:
    split = rollout_scores(
        1.0,
        {
            "correctness": 0.0,
            "passed": True,
            "reward_components": {"correctness": 1.0, "passed": 1, "reward": 3.0},
        },
    )
    assert split.scores == {
        "reward": 1.0,
        "correctness": 0.0,
        "passed": True,
        "reward_components/correctness": 1.0,
        "reward_components/passed": 1,
        "reward_components/reward": 3.0,
    }


def test_what_cannot_be_a_score_stays_raw() -> None:
    taken = {"reward_components/x": 9, "x": 1}
    split = rollout_scores(0, {**taken, "reward_components": {"x": 2, "note": "n/a"}})
    assert split.scores == {"reward": 0, **taken}
    assert split.remaining_fields == {"reward_components": {"x": 2, "note": "n/a"}}
    not_an_object = rollout_scores(0, {"reward_components": [1.0, 2.0]})
    assert not_an_object.remaining_fields == {"reward_components": [1.0, 2.0]}


def test_dotted_names_are_named_as_nemo_gym_names_metrics() -> None:
    """Docent's page reads ``quality.safety`` as a path: the score is ``quality/safety``."""
    split = rollout_scores(
        1.0,
        {
            "judge.points": 3,
            "reward_components": {"quality.safety": 1.0, "judge.points": 3, "reward.x": 0.5},
        },
    )
    assert split.scores == {
        "reward": 1.0,
        "judge/points": 3,
        "quality/safety": 1.0,
        "reward/x": 0.5,
    }
    assert "reward_components" not in split.remaining_fields


def test_a_dotted_name_clashing_with_a_slashed_one_stays_raw() -> None:
    split = rollout_scores(1.0, {"a/b": 1, "a.b": 2})
    assert split.scores == {"reward": 1.0, "a/b": 1}
    assert split.remaining_fields == {"a.b": 2}

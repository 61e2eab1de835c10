"""The 95% intervals ``gym eval compare`` reports, by NeMo Gym 0.7's formulas.

Read in ``nemo_gym/reward_profile.py`` (``RewardProfiler._compute_repeat_level_metrics``,
``_aggregate_repeat_level_metrics``, ``_confidence_interval``) and ``nemo_gym/comparison/diff.py``
(``_welch_delta_confidence_interval``):

- a *repeat* is one rollout index; its estimate of a per-rollout field ``f`` is the mean of ``f``
  over the measured rollouts of that repeat (one per task present);
- each side, across its n > 1 repeat estimates: their mean, sample standard deviation, standard
  error ``std / √n`` and the two-sided Student-t interval ``mean ± t(0.975, n − 1) · se`` (the
  point itself when the standard error is 0);
- the delta: Welch's two-sample 95% t interval (unequal variances, Welch–Satterthwaite degrees
  of freedom) on the candidate's repeat estimates minus the baseline's; none when either side
  has fewer than 2 repeats.

The fields are those of ``mean/{f}`` (``metrics.rollout_metrics``: booleans as 0 or 1, as NeMo
Gym's profiler reads them, NaN left out as ``dropna`` leaves it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

CONFIDENCE: Final = 0.95


@dataclass(frozen=True)
class AcrossRepeats:
    """One field over a side's repeats: the repeats' mean, standard error and 95% interval."""

    repeats: int
    mean: float
    se: float
    ci_low: float
    ci_high: float


@dataclass
class RepeatMeans:
    """Per repeat (rollout index), the sum and count of each field over measured rollouts."""

    _sums: dict[str, dict[int, list[float]]] = field(default_factory=dict)

    def add(self, repeat: int, fields: Mapping[str, float]) -> None:
        for name, value in fields.items():
            sums = self._sums.setdefault(name, {}).setdefault(repeat, [0.0, 0.0])
            sums[0] += 1
            sums[1] += value

    def estimates(self, name: str) -> list[float]:
        """The field's repeat estimates, in rollout-index order."""
        by_repeat = self._sums.get(name, {})
        return [total / count for _, (count, total) in sorted(by_repeat.items())]

    def across(self, name: str) -> AcrossRepeats | None:
        """The field across repeats, or ``None`` with fewer than 2 repeats."""
        return across_repeats(self.estimates(name))


def across_repeats(estimates: Sequence[float]) -> AcrossRepeats | None:
    """Mean, standard error and two-sided 95% t interval of n > 1 repeat estimates."""
    n = len(estimates)
    if n < 2:
        return None
    mean = sum(estimates) / n
    std = math.sqrt(sum((value - mean) ** 2 for value in estimates) / (n - 1))
    se = std / math.sqrt(n)
    if se == 0:
        return AcrossRepeats(n, mean, se, mean, mean)
    half = _t_quantile(n - 1) * se
    return AcrossRepeats(n, mean, se, mean - half, mean + half)


def welch_interval(
    baseline: Sequence[float], candidate: Sequence[float]
) -> tuple[float, float] | None:
    """Welch's 95% interval on mean(candidate) − mean(baseline), or ``None`` when a side has
    fewer than 2 repeats or neither varies (no degrees of freedom)."""
    if len(baseline) < 2 or len(candidate) < 2:
        return None
    (mean_b, var_b), (mean_c, var_c) = _mean_var(baseline), _mean_var(candidate)
    share_b, share_c = var_b / len(baseline), var_c / len(candidate)
    se = math.sqrt(share_b + share_c)
    if se == 0:
        return None
    degrees = (share_b + share_c) ** 2 / (
        share_b**2 / (len(baseline) - 1) + share_c**2 / (len(candidate) - 1)
    )
    delta = mean_c - mean_b
    half = _t_quantile(degrees) * se
    return delta - half, delta + half


def _mean_var(values: Sequence[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    return mean, sum((value - mean) ** 2 for value in values) / (len(values) - 1)


def _t_quantile(degrees: float) -> float:
    """t(0.975, degrees): the two-sided 95% critical value of Student's t."""
    from scipy.stats import t  # noqa: PLC0415 (scipy takes a while to import: only when asked)

    return float(t.ppf(0.5 + CONFIDENCE / 2, degrees))

"""What an export holds: conditions, selection, task groups, summaries, NeMo Gym's metrics, and
the comparison of two runs."""

"""What an export holds: conditions, selection, task groups, summaries."""

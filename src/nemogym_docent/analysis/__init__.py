"""What an export says: its summary, NeMo Gym's metrics, and the comparison of two runs."""

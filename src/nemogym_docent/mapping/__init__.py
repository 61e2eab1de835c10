"""Rollout -> AgentRun: the mapping of one validated rollout."""

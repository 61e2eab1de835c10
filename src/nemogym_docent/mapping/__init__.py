"""One validated rollout to a Docent AgentRun: transcript, name, metadata."""

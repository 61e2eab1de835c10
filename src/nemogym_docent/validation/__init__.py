"""The packaged JSON Schemas, the jsonschema validator, and why a rollout is refused."""

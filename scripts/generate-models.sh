#!/usr/bin/env bash
# Regenerate the Pydantic models from schemas/ (options: [tool.datamodel-codegen] in pyproject.toml).
# With --check, regenerate in memory and fail with a diff if the committed models differ.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export PYTHONPATH="$PWD/scripts${PYTHONPATH:+:$PYTHONPATH}"  # the custom formatter tagged_unions
exec datamodel-codegen "$@"

#!/usr/bin/env bash
# The GitHub Action's first step (action.yml): install nemogym-docent from the action's own
# checkout, with the locked dependencies, into an environment of its own; put it on the PATH.
set -euo pipefail
venv="${RUNNER_TEMP:?}/nemogym-docent-venv"
if command -v uv >/dev/null; then
  uv venv --quiet --python "${INPUT_PYTHON:-python3}" "$venv"
  uv pip install --quiet --python "$venv/bin/python" \
    -r "$GITHUB_ACTION_PATH/requirements.lock" "$GITHUB_ACTION_PATH"
else
  "${INPUT_PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "$GITHUB_ACTION_PATH/requirements.lock" "$GITHUB_ACTION_PATH"
fi
echo "$venv/bin" >>"$GITHUB_PATH"

#!/usr/bin/env bash
# The GitHub Action's second step (action.yml): validate the paths with annotations; the command
# itself writes the job summary ($GITHUB_STEP_SUMMARY) and the counts ($GITHUB_OUTPUT).
set -euo pipefail
set -f  # the paths and arguments are split on white space; globs are left to nemogym-docent
# shellcheck disable=SC2206
args=(validate $INPUT_PATHS --format github $INPUT_ARGS)
[[ "${INPUT_LENIENT:-false}" == "true" ]] && args+=(--lenient)
status=0
nemogym-docent "${args[@]}" || status=$?
if [[ $status -eq 1 && "${INPUT_FAIL_ON_INVALID:-true}" == "false" ]]; then
  echo "::notice::invalid records found; the step passes (fail-on-invalid: false)"
  status=0
fi
exit "$status"

#!/usr/bin/env bash
# Run tests/server against the real Docent server: start it in a temporary state folder, run the
# tests, stop it. Skipped (one line) when the server's scripts are absent. The Ray datasink's test
# runs in the Ray environment (.venv-ray, which `make test-server` builds).
# DOCENT_SERVER_DIR: the folder of start.sh and stop.sh [../shared/docent-server].
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
SERVER=${DOCENT_SERVER_DIR:-../shared/docent-server}
if [ ! -x "$SERVER/start.sh" ]; then
    echo "test-server: skipped ($SERVER/start.sh is absent)"
    exit 0
fi
SERVER=$(cd "$SERVER" && pwd)
STATE=$(mktemp -d "${TMPDIR:-/tmp}/docent-test-server.XXXXXX")
chmod 755 "$STATE" # Postgres runs as another user, and must reach its data folder inside
stop() {
    "$SERVER/stop.sh" "$STATE" >/dev/null 2>&1 || true
    rm -rf "$STATE"
}
trap stop EXIT
echo "test-server: starting the Docent server in $STATE (about 2.5 minutes the first time)"
if ! "$SERVER/start.sh" "$STATE" >"$STATE/start.log" 2>&1; then
    tail -20 "$STATE/start.log"
    exit 1
fi
export DOCENT_SERVER_DIR="$SERVER" DOCENT_SERVER_STATE="$STATE"
.venv/bin/python -m pytest -p no:cacheprovider tests/server --ignore tests/server/test_ray_datasink.py "$@"
.venv-ray/bin/python -m pytest -p no:cacheprovider tests/server/test_ray_datasink.py "$@"

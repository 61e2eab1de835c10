#!/usr/bin/env bash
# Run tests/server/test_page.py against the real Docent server and its own web page: start both
# (the kit's start.sh and start-web.sh), run the tests, stop them. Skipped (one line) when the
# kit's scripts are absent.
# DOCENT_SERVER_DIR: the kit's folder [../shared/docent-server]. DOCENT_PAGE_STATE: a state folder
# to use and keep (the web build takes about 3 minutes the first time, 1 s after); else a
# temporary one. NEMOGYM_DOCENT_SHOTS: where the screenshots go. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
SERVER=${DOCENT_SERVER_DIR:-../shared/docent-server}
if [ ! -x "$SERVER/start-web.sh" ]; then
    echo "test-ui: the page tests skipped ($SERVER/start-web.sh is absent)"
    exit 0
fi
SERVER=$(cd "$SERVER" && pwd)
if [ -n "${DOCENT_PAGE_STATE:-}" ]; then
    STATE=$DOCENT_PAGE_STATE KEEP=1
    mkdir -p "$STATE"
else
    STATE=$(mktemp -d "${TMPDIR:-/tmp}/docent-test-page.XXXXXX") KEEP=0
fi
chmod 755 "$STATE" # Postgres runs as another user, and must reach its data folder inside
stop() {
    "$SERVER/stop.sh" "$STATE" >/dev/null 2>&1 || true
    [ "$KEEP" = 1 ] || rm -rf "$STATE"
}
trap stop EXIT
echo "test-ui: starting the Docent server and its web page in $STATE (about 6 minutes the first time)"
for script in start.sh start-web.sh; do
    if ! "$SERVER/$script" "$STATE" >"$STATE/$script.log" 2>&1; then
        tail -20 "$STATE/$script.log"
        exit 1
    fi
done
WEB=$(sed -n 's/^DOCENT_FRONTEND_URL=//p' "$STATE/docent.env")
DOCENT_SERVER_DIR="$SERVER" DOCENT_SERVER_STATE="$STATE" NEMOGYM_DOCENT_WEB="$WEB" \
    .venv/bin/python -m pytest -p no:cacheprovider tests/server/test_page.py "$@"

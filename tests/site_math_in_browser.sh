#!/usr/bin/env bash
# Render pages of the built site in headless Chromium with every outside name lookup
# blocked, and count the formulas MathJax typeset (mjx-container elements).
# Usage: tests/site_math_in_browser.sh _build/html book/01_baskets.html [more pages]
# Needs Debian's chromium (apt-get install chromium). Exit 1 if a page has no typeset
# formula.
set -euo pipefail
site="$1"; shift
port=8765
python3 -m http.server --bind 127.0.0.1 --directory "$site" "$port" >/dev/null 2>&1 &
server=$!
trap 'kill $server' EXIT
sleep 1
status=0
for page in "$@"; do
    profile=$(mktemp -d)
    dom=$(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" \
        --host-resolver-rules="MAP * ~NOTFOUND , EXCLUDE 127.0.0.1" \
        --virtual-time-budget=15000 --dump-dom "http://127.0.0.1:$port/$page" 2>/dev/null)
    typeset=$( (grep -o "<mjx-container" <<<"$dom" || true) | wc -l)
    echo "$page: $typeset typeset formulas"
    if [ "$typeset" -eq 0 ]; then status=1; fi
    rm -rf "$profile"
done
exit $status

#!/usr/bin/env bash
# Regenerates the console screenshots in docs/console/ (never edited by
# hand): runs the console's browser suite (integration/console_test.go),
# which seeds two servers and, with STEVEDORE_CONSOLE_SCREENSHOTS set, saves
# each main page as it checks it. Needs Node, chromium and the peer tools
# (bash scripts/install-tools.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
out="$PWD/docs/console"
rm -rf "$out"
mkdir -p "$out"
BIN="$(bash scripts/install-tools.sh)"
PATH="$BIN:$PATH" STEVEDORE_CONSOLE_SCREENSHOTS="$out" \
  go test -count=1 -run '^TestConsole$' ./integration/
ls "$out"

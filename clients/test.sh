#!/usr/bin/env bash
# Runs the client test suites against a real `stevedore serve`: Go
# (clients/go, in-process server), Python (clients/python, installed with pip
# into a fresh venv, pytest; tests/test_rest.py also validates the served
# /openapi.json with openapi-spec-validator and checks the REST gateway
# against it) and TypeScript (clients/ts, `npm ci`, tsc,
# node --test). scripts/test.sh calls it as one stage; it also runs alone.
#
#   QUICK=1   a 16 MiB big layer instead of 256 MiB, and go test -short
#   STEVEDORE_BENCH=1   then run clients/bench.sh (GetBlob MB/s per client vs curl)
#
# stevedore and the fixture writer are built once here and shared through
# STEVEDORE_BIN / STEVEDORE_MKFIXTURE. Every suite runs; any failure fails.
set -uo pipefail

cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
rc=0

go build -o "$tmp/stevedore" ./cmd/stevedore && go build -o "$tmp/mkfixture" ./clients/go/internal/mkfixture || exit 1
export STEVEDORE_BIN="$tmp/stevedore" STEVEDORE_MKFIXTURE="$tmp/mkfixture"
short=()
if [ "${QUICK:-}" = 1 ]; then
  export STEVEDORE_FIXTURE_SIZE=$((16 << 20))
  short=(-short)
fi

echo "--- clients/go"
go test "${short[@]}" -count=1 ./clients/go/... || rc=1

echo "--- clients/python (fresh venv)"
if python3 -m venv "$tmp/venv" &&
  "$tmp/venv/bin/pip" install --quiet "./clients/python[test]"; then
  (cd clients/python && "$tmp/venv/bin/python" -m pytest -v -p no:cacheprovider tests) || rc=1
else
  echo "clients/python: install failed"
  rc=1
fi

echo "--- clients/ts (npm ci)"
(cd clients/ts && npm ci --no-audit --no-fund && npm test) || rc=1

if [ "${STEVEDORE_BENCH:-}" = 1 ]; then
  echo "--- GetBlob throughput (clients/bench.sh)"
  STEVEDORE_PY="$tmp/venv/bin/python" bash clients/bench.sh || rc=1
fi

exit "$rc"

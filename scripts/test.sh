#!/usr/bin/env bash
# The test command (`make test`). On a fresh Debian machine with Go, Node and
# Python it installs what the tests need, then runs, in order: generated-code
# freshness, gofmt, go vet, unit tests, integration tests. Any failure fails the
# run; every stage still runs so one report shows everything that is wrong.
#
#   QUICK=1   skip slow tests (go test -short): the 1 GiB streaming test etc.
#   GOFLAGS, GOTESTFLAGS (extra flags for both go test runs) pass through.
#
# The last thing printed is go test -v's own output for the integration
# package (a --- PASS/FAIL/SKIP line per test and subtest, then ok/FAIL), so
# CI logs end with the counts; a summary of earlier failed stages comes first.
set -euo pipefail

cd "$(dirname "$0")/.."

failed=()
section() { printf '\n==== %s ====\n' "$*"; }
fail() {
  failed+=("$1")
  printf '!!!! FAILED: %s\n' "$1"
}

section "install tools"
BIN="$(bash scripts/install-tools.sh)"
export PATH="$BIN:$PATH"
# Peer tools missing now is a setup bug, not a reason to skip integration tests.
export STEVEDORE_REQUIRE_PEERS=1
echo "tools in $BIN"

if [ -f scripts/gen.sh ]; then
  section "generated code is current (scripts/gen.sh, buf format + lint)"
  gen_dirs=(gen service/openapi clients/ts/src/gen clients/python/src/stevedore_oci)
  snapshot() { find "${gen_dirs[@]}" -type f 2>/dev/null | LC_ALL=C sort | xargs -r sha256sum; }
  before="$(snapshot)"
  if bash scripts/gen.sh; then
    after="$(snapshot)"
    if [ "$before" != "$after" ]; then
      diff <(echo "$before") <(echo "$after") || true
      fail "generated code was stale: run scripts/gen.sh and commit ${gen_dirs[*]}"
    else
      echo "generated code is current"
    fi
  else
    fail "scripts/gen.sh"
  fi

  # buf breaking (rules in buf.yaml): a branch is checked against where it
  # left main, main itself against its previous commit. A shallow clone has
  # no history to compare with, so the check is skipped, loudly.
  against=""
  if [ "$(git rev-parse --is-shallow-repository 2>/dev/null)" = true ]; then
    echo "buf breaking: skipped, shallow clone (fetch with full history to run it)"
  elif [ "$(git rev-parse --abbrev-ref HEAD 2>/dev/null)" != main ] && base="$(git merge-base HEAD main 2>/dev/null)"; then
    against="$base"
  elif git rev-parse --verify --quiet HEAD~1 >/dev/null; then
    against="HEAD~1"
  else
    echo "buf breaking: skipped, no earlier commit to compare with"
  fi
  if [ -n "$against" ]; then
    echo "buf breaking against $against"
    "$(scripts/install-buf.sh)" breaking --against ".git#ref=$against" || fail "buf breaking against $against"
  fi
fi

section "gofmt"
unformatted="$(git ls-files -z --cached --others --exclude-standard -- '*.go' ':!:gen/**' ':!:third_party/**' | xargs -0 -r gofmt -l)"
if [ -n "$unformatted" ]; then
  echo "$unformatted"
  fail "gofmt: the files above need gofmt -w"
else
  echo "all Go files are gofmt-clean"
fi

section "go vet"
go vet ./... || fail "go vet"

short=()
if [ "${QUICK:-}" = 1 ]; then
  short=(-short)
  echo "QUICK=1: slow tests are skipped (-short)"
fi

section "unit tests"
# Everything but integration/, which runs next with its own timeout.
mapfile -t unit_pkgs < <(go list ./... | grep -v '/integration$' | grep -v '/integration/')
go test "${short[@]}" ${GOTESTFLAGS:-} -count=1 "${unit_pkgs[@]}" || fail "unit tests"

section "client tests (Go, Python, TypeScript against stevedore serve)"
bash clients/test.sh || fail "client tests"

if [ ${#failed[@]} -gt 0 ]; then
  section "stages failed so far"
  printf '  - %s\n' "${failed[@]}"
fi

# Last, so the log ends with go test's verdict and its per-test lines.
section "integration tests (CLI, gRPC, REST against distribution, crane, oras, skopeo)"
rc=0
go test "${short[@]}" ${GOTESTFLAGS:-} -count=1 -timeout 20m -v ./integration/... || rc=1
[ "$rc" -eq 0 ] && [ ${#failed[@]} -eq 0 ]

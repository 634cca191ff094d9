#!/usr/bin/env bash
# Tests the gate itself (a stage of `make test`): with
# STEVEDORE_REQUIRE_PEERS=1, a tool missing from the tools directory fails
# the tests that need it instead of skipping them.
#
#   cosign      removed from a copy of the tools directory (and PATH holding
#               no other cosign): integration's TestSignInterop must fail
#   registry    STEVEDORE_REGISTRY_BIN naming nothing: clients/go must fail
#
# scripts/tally's own tests cover the other half: a skip that is not on
# scripts/skip-allowlist.txt fails the run.
set -uo pipefail
cd "$(dirname "$0")/.."

source scripts/results.sh
results_init || exit 1
tier=gate
tools="${STEVEDORE_TOOLS_BIN:-$(bash scripts/install-tools.sh)}" || exit 1
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# PATH without the tools directory (it goes back in without cosign).
path=""
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  [ "$(readlink -f "$d" 2>/dev/null)" = "$(readlink -f "$tools")" ] || path="${path:+$path:}$d"
done

# fails_not_skips NAME TEST-REGEXP PACKAGE ENV...: go test must exit non-zero
# with the test (or, when TestMain refuses, the package) failed, and nothing
# skipped.
fails_not_skips() {
  local name=$1 run=$2 pkg=$3 out="$tmp/$1.gojson"
  shift 3
  if env "$@" STEVEDORE_REQUIRE_PEERS=1 go test -json -count=1 -run "$run" "$pkg" >"$out" 2>&1; then
    echo "$name: go test passed without the tool"
    return 1
  fi
  if jq -e 'select(.Action == "skip" and .Test != null)' "$out" >/dev/null 2>&1; then
    echo "$name: a test skipped without the tool:"
    jq -r 'select(.Action == "skip") | .Test' "$out"
    return 1
  fi
  if ! jq -e 'select(.Action == "fail")' "$out" >/dev/null 2>&1; then
    echo "$name: no failure recorded"
    return 1
  fi
  jq -r 'select(.Action == "output") | .Output' "$out" | grep -m3 -E 'not on PATH|STEVEDORE_REQUIRE_PEERS' || true
}

mkdir "$tmp/tools"
for f in "$tools"/*; do
  [ "$(basename "$f")" = cosign ] || ln -s "$(readlink -f "$f")" "$tmp/tools/"
done
if other="$(PATH="$tmp/tools:$path" command -v cosign)"; then
  record "$tier" FAIL "cosign removed from the tools directory fails TestSignInterop" "another cosign is on PATH ($other): the gate cannot be tested"
else
  check "$tier" "cosign removed from the tools directory fails TestSignInterop" \
    fails_not_skips cosign '^TestSignInterop$' ./integration/ \
    PATH="$tmp/tools:$path" STEVEDORE_TOOLS_CACHE="$tmp/tools"
fi

check "$tier" "no distribution registry fails clients/go" \
  fails_not_skips registry '^TestDistribution$' ./clients/go/ STEVEDORE_REGISTRY_BIN="$tmp/tools/none"

if [ "$own_results" = 1 ]; then
  tally_summary
else
  ! grep -q '^FAIL' "$STEVEDORE_RESULTS/$tier.checks"
fi

#!/usr/bin/env bash
# Runs the client test suites against a real `stevedore serve`, as users get
# the clients:
#   Go          go test ./clients/go/... (in-process server)
#   Python      the wheel and sdist built with `python -m build`, the wheel
#               installed into a fresh venv, pytest there (the README quick
#               start runs against the installed package; tests/test_rest.py
#               validates the served /openapi.json; tests/test_packaging.py
#               installs the wheel next to PyPI's `stevedore`)
#   TypeScript  `npm ci`, tsc, `npm pack`, node --test (the README quick
#               start runs in the package and again from a fresh directory
#               that installed the tarball, where strict tsc finds its types)
# scripts/test.sh calls it as one stage; it also runs alone (then it prints
# its own tally at the end).
#
#   QUICK=1   a 16 MiB big layer instead of 256 MiB, and go test -short
#   STEVEDORE_BENCH=1   then run clients/bench.sh (GetBlob MB/s per client vs curl)
#   STEVEDORE_REQUIRE_PEERS=1   (make test) a missing tool (python3, node,
#             npm, the distribution registry) fails instead of skipping
#
# Tools come only from scripts/install-tools.sh's output: STEVEDORE_TOOLS_BIN
# when the caller already ran it, else it is run here (STEVEDORE_TOOLS_CACHE
# moves its directory). The registry is passed on as STEVEDORE_REGISTRY_BIN.
# stevedore and the fixture writer are built once here and shared through
# STEVEDORE_BIN / STEVEDORE_MKFIXTURE. Every suite runs; any failure fails.
set -uo pipefail

cd "$(dirname "$0")/.."
source scripts/results.sh
results_init || exit 1
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
rc=0

tools="${STEVEDORE_TOOLS_BIN:-$(bash scripts/install-tools.sh)}" || exit 1
export STEVEDORE_REGISTRY_BIN="$tools/registry"

go build -o "$tmp/stevedore" ./cmd/stevedore && go build -o "$tmp/mkfixture" ./clients/go/internal/mkfixture || exit 1
export STEVEDORE_BIN="$tmp/stevedore" STEVEDORE_MKFIXTURE="$tmp/mkfixture"
short=()
if [ "${QUICK:-}" = 1 ]; then
  export STEVEDORE_FIXTURE_SIZE=$((16 << 20))
  short=(-short)
fi

# have TIER TOOL...: whether every TOOL is on PATH; a missing one is a
# failure under STEVEDORE_REQUIRE_PEERS=1, else a skip of the tier.
have() {
  local tier=$1 t missing=()
  shift
  for t; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "${STEVEDORE_REQUIRE_PEERS:-}" = 1 ]; then
    record "$tier" FAIL "$tier suite" "not on PATH: ${missing[*]} (STEVEDORE_REQUIRE_PEERS=1)"
    rc=1
  else
    record "$tier" SKIP "$tier suite" "not on PATH: ${missing[*]}"
  fi
  return 1
}

echo "--- clients/go"
gotest clients-go "${short[@]}" -count=1 ./clients/go/... || rc=1

echo "--- clients/python: python -m build, the wheel in a fresh venv, pytest"
if have clients-python python3; then
  if check clients-python "python -m build (wheel and sdist)" bash -c "
    python3 -m venv '$tmp/build-venv' &&
    '$tmp/build-venv/bin/pip' install --quiet --disable-pip-version-check build==1.3.0 &&
    '$tmp/build-venv/bin/python' -m build --outdir '$tmp/pydist' clients/python" &&
    wheel="$(ls "$tmp"/pydist/stevedore_oci-*.whl)" &&
    check clients-python "pip install the wheel into a fresh venv" bash -c "
      python3 -m venv '$tmp/venv' &&
      '$tmp/venv/bin/pip' install --quiet --disable-pip-version-check '$wheel[test]'"; then
    export STEVEDORE_PY_WHEEL="$wheel"
    (cd clients/python && "$tmp/venv/bin/python" -m pytest -v -p no:cacheprovider \
      --junitxml="$STEVEDORE_RESULTS/clients-python.junit.xml" tests) || rc=1
  else
    rc=1
  fi
  rm -rf clients/python/build clients/python/src/*.egg-info
fi

echo "--- clients/ts: npm ci, npm pack, node --test"
if have clients-ts node npm; then
  mkdir -p "$tmp/tsdist"
  if check clients-ts "npm ci, tsc, npm pack" bash -c "
    cd clients/ts && npm ci --no-audit --no-fund --loglevel=error && npx tsc -p tsconfig.json &&
    npm pack --silent --pack-destination '$tmp/tsdist' >/dev/null"; then
    STEVEDORE_TS_TARBALL="$(ls "$tmp"/tsdist/*.tgz)"
    export STEVEDORE_TS_TARBALL
    (cd clients/ts && node --test --test-reporter=spec --test-reporter-destination=stdout \
      --test-reporter=junit --test-reporter-destination="$STEVEDORE_RESULTS/clients-ts.junit.xml" \
      dist/test/*.test.js) || rc=1
  else
    rc=1
  fi
fi

if [ "${STEVEDORE_BENCH:-}" = 1 ]; then
  echo "--- GetBlob throughput (clients/bench.sh)"
  STEVEDORE_PY="$tmp/venv/bin/python" bash clients/bench.sh || rc=1
fi

if [ "$own_results" = 1 ]; then
  tally_summary || rc=1
fi
exit "$rc"

#!/usr/bin/env bash
# The test command (`make test`). On a fresh Debian machine with Go, Node and
# Python it installs what the tests need, then runs, in order: generated-code
# freshness, console assets freshness, buf breaking, gofmt, go vet, the
# gate's own test, unit tests, bounded fuzzing of the parsers, the client
# suites, the release (built, not published, and checked), the
# README/EXAMPLES tour, integration tests (the console's browser suite among
# them), the benchmark smoke (every TestBench* at 64 MiB, one run). Any
# failure fails the run; every
# stage still runs so one report shows everything that is wrong.
#
#   QUICK=1   skip slow tests (go test -short), the release stage and the
#             benchmark smoke; skips
#             are then allowed (a quick run skips slow tests by design)
#   GOFLAGS, GOTESTFLAGS (extra flags for every go test run) pass through.
#
# STEVEDORE_REQUIRE_PEERS=1 is set: a test needing a tool fails when the tool
# is missing, in every tier. Every tier leaves its results in one directory
# ($STEVEDORE_RESULTS); the log ends with scripts/tally's one line counting
# PASS/FAIL/SKIP across all of them, and a skip not on
# scripts/skip-allowlist.txt (benchmarks) fails the run.
set -uo pipefail

cd "$(dirname "$0")/.."
run_start=$SECONDS
failed=()
section() { printf '\n==== %s ====\n' "$*"; }
fail() {
  failed+=("$1")
  printf '!!!! FAILED: %s\n' "$1"
}
# stage NAME COMMAND...: runs a stage, records it for the tally, times it.
stage() {
  local name=$1 start=$SECONDS
  shift
  if "$@"; then
    record stages PASS "$name" "$((SECONDS - start))s"
  else
    record stages FAIL "$name" "$((SECONDS - start))s"
    fail "$name"
  fi
}

source scripts/results.sh
export STEVEDORE_RESULTS="${STEVEDORE_RESULTS:-$(mktemp -d "${TMPDIR:-/tmp}/stevedore-results.XXXXXX")}"
results_init || exit 1
echo "results in $STEVEDORE_RESULTS"
tmp="$(mktemp -d)"
test_registry=""
trap '[ -n "$test_registry" ] && kill "$test_registry" 2>/dev/null; rm -rf "$tmp"' EXIT

section "install tools"
if ! STEVEDORE_TOOLS_BIN="$(bash scripts/install-tools.sh)"; then
  echo "scripts/install-tools.sh failed"
  exit 1
fi
export STEVEDORE_TOOLS_BIN PATH="$STEVEDORE_TOOLS_BIN:$PATH"
export STEVEDORE_REGISTRY_BIN="$STEVEDORE_TOOLS_BIN/registry"
# A missing tool is a setup bug, not a reason to skip a test.
export STEVEDORE_REQUIRE_PEERS=1
echo "tools in $STEVEDORE_TOOLS_BIN"

gen_current() {
  local gen_dirs=(gen service/openapi clients/ts/src/gen clients/python/src/stevedore_oci) before after
  snapshot() { find "${gen_dirs[@]}" -type f 2>/dev/null | LC_ALL=C sort | xargs -r sha256sum; }
  before="$(snapshot)"
  bash scripts/gen.sh || return 1
  after="$(snapshot)"
  if [ "$before" != "$after" ]; then
    diff <(echo "$before") <(echo "$after")
    echo "generated code was stale: run scripts/gen.sh and commit ${gen_dirs[*]}"
    return 1
  fi
  echo "generated code is current"
}
section "generated code is current (scripts/gen.sh: buf format, lint, generate)"
stage "generated code is current" gen_current

console_current() {
  # The console's built files are committed (go build needs no Node); a
  # rebuild from the locked dependencies must give the same bytes.
  (cd service/console/web && npm ci --no-audit --no-fund && npm run build) || return 1
  local stale
  stale="$(git status --porcelain -- service/console/dist)"
  if [ -n "$stale" ]; then
    echo "$stale"
    git diff --stat -- service/console/dist || true
    echo "console assets were stale: run npm run build in service/console/web and commit service/console/dist"
    return 1
  fi
  echo "console assets are current"
}
section "console assets are current (service/console/web: npm ci, npm run build)"
stage "console assets are current" console_current

section "buf breaking (scripts/buf-breaking.sh)"
stage "buf breaking" bash scripts/buf-breaking.sh

gofmt_clean() {
  local unformatted
  unformatted="$(git ls-files -z --cached --others --exclude-standard -- '*.go' ':!:gen/**' ':!:third_party/**' | xargs -0 -r gofmt -l)"
  if [ -n "$unformatted" ]; then
    echo "$unformatted"
    echo "the files above need gofmt -w"
    return 1
  fi
  echo "all Go files are gofmt-clean"
}
section "gofmt"
stage "gofmt" gofmt_clean

section "go vet"
stage "go vet" go vet ./...

section "the gate: a missing tool fails, it does not skip (scripts/gate-test.sh)"
stage "gate test" bash scripts/gate-test.sh

short=()
if [ "${QUICK:-}" = 1 ]; then
  short=(-short)
  echo "QUICK=1: slow tests are skipped (-short)"
fi

# A distribution registry holding t/x:v1, for engine/transport/registry's
# TestLiveRegistry (STEVEDORE_TEST_REGISTRY).
start_test_registry() {
  local port dir="$tmp/test-registry"
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')" || return 1
  mkdir -p "$dir/layer"
  printf 'version: 0.1\nlog: {level: warn, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: 127.0.0.1:%s}\n' \
    "$dir/root" "$port" >"$dir/config.yml"
  OTEL_TRACES_EXPORTER=none "$STEVEDORE_REGISTRY_BIN" serve "$dir/config.yml" >"$dir/log" 2>&1 &
  test_registry=$!
  for _ in $(seq 300); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/v2/" 2>/dev/null && break
    sleep 0.1
  done
  echo "live registry test image" >"$dir/layer/hello.txt"
  tar -cf "$dir/layer.tar" -C "$dir/layer" . &&
    crane append --oci-empty-base -f "$dir/layer.tar" -t "127.0.0.1:$port/t/x:v1" >/dev/null || return 1
  export STEVEDORE_TEST_REGISTRY="127.0.0.1:$port"
}

section "unit tests"
# Everything but integration/, which runs last with its own timeout, and
# clients/, which clients/test.sh runs.
mapfile -t unit_pkgs < <(go list ./... | grep -v -e '/integration$' -e '/integration/' -e '/clients/')
start_test_registry || echo "could not start the registry for TestLiveRegistry"
stage "unit tests" gotest unit -failures "${short[@]}" ${GOTESTFLAGS:-} -count=1 "${unit_pkgs[@]}"

# The parsers hostile clients reach first: route, reference, manifest
# validator, Content-Range. New crashers land in testdata/fuzz; commit them.
fuzz_parsers() {
  local rc=0 target
  for target in "FuzzParse ./registryhttp/internal/route" "FuzzParseReference ./engine/oci" \
    "FuzzParseManifest ./engine/served" "FuzzChunkRange ./registryhttp"; do
    set -- $target
    go test -run '^$' -fuzz "^$1\$" -fuzztime "${FUZZTIME:-10s}" "$2" || rc=1
  done
  return "$rc"
}
section "fuzz (bounded: FUZZTIME per target, default 10s)"
stage "fuzz" fuzz_parsers

section "client tests (Go, Python wheel, TypeScript package against stevedore serve)"
stage "client tests" bash clients/test.sh

if [ "${QUICK:-}" != 1 ]; then
  section "release (make release, then scripts/release-check.sh; nothing is published)"
  stage "make release" make --no-print-directory release
  stage "release checks" bash scripts/release-check.sh
fi

section "the tour: README.md and docs/EXAMPLES.md as written (scripts/doc-tour.sh)"
stage "doc tour" bash scripts/doc-tour.sh

section "integration tests (CLI, gRPC, REST against distribution, crane, oras, skopeo, cosign)"
stage "integration tests" gotest integration "${short[@]}" ${GOTESTFLAGS:-} -count=1 -timeout 40m ./integration/...

# Every peer benchmark, small: 64 MiB, one run, a 10-tag mirror, 1 s of wrk.
# Each still runs its peers end to end and checks their bytes, so a
# benchmark cannot rot between `make bench` runs; the stage fails only on
# an error (a peer missing or failing, a wrong digest), never on a time.
# Its tier is bench-smoke: a skip there is not allowed.
bench_smoke() {
  local log="$tmp/bench-smoke.log" rc
  STEVEDORE_BENCH=1 STEVEDORE_BENCH_MIB=64 STEVEDORE_BENCH_RUNS=1 \
    STEVEDORE_BENCH_SECONDS=1 STEVEDORE_BENCH_MIRROR_IMAGES=5 \
    gotest bench-smoke ${GOTESTFLAGS:-} -count=1 -run '^TestBench' -timeout 15m ./integration/ | tee "$log"
  rc=$?
  bash scripts/bench-ratios.sh "$log"
  return "$rc"
}
if [ "${QUICK:-}" != 1 ]; then
  section "benchmark smoke (every TestBench* at 64 MiB, one run; reports, never fails on time)"
  stage "benchmark smoke" bench_smoke
fi

section "summary ($(((SECONDS - run_start) / 60))m$(((SECONDS - run_start) % 60))s)"
if [ ${#failed[@]} -gt 0 ]; then
  echo "stages that failed:"
  printf '  - %s\n' "${failed[@]}"
fi
# Last, so the log ends with the one-line tally.
tally_summary && [ ${#failed[@]} -eq 0 ]

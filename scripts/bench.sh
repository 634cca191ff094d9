#!/usr/bin/env bash
# The benchmarks (`make bench`): the go test -bench micro-benchmarks of every
# package but integration/, then the peer comparisons in integration/
# (TestBenchGetBlob: gRPC GetBlob and curl from our OCI port vs curl from the
# CNCF distribution registry, 1 GiB, median of 5; TestBenchRegistry: crane
# push/pull, blob GET, single-stream upload and manifest GETs with wrk, our
# OCI port vs distribution, median of 3). Numbers are reported, never
# judged: nothing here fails on timing. docs/BENCHMARKS.md records the results.
#
#   BENCH_OUT=FILE   where the GetBlob comparison's markdown table goes
#                    (default: bench-getblob.md in a temp dir, path printed);
#                    the registry comparison goes beside it, FILE with
#                    -registry.md in place of .md
#   BENCH_SKIP_MICRO=1 / BENCH_SKIP_PEERS=1   run only one half
set -euo pipefail

cd "$(dirname "$0")/.."

BIN="$(bash scripts/install-tools.sh)"
export PATH="$BIN:$PATH"
export STEVEDORE_REQUIRE_PEERS=1

if [ "${BENCH_SKIP_MICRO:-}" != 1 ]; then
  printf '\n==== go test -bench (micro-benchmarks) ====\n'
  mapfile -t pkgs < <(go list ./... | grep -v '/integration$' | grep -v '/integration/')
  go test -run '^$' -bench . -benchmem "${pkgs[@]}"
fi

if [ "${BENCH_SKIP_PEERS:-}" != 1 ]; then
  printf '\n==== GetBlob vs distribution (integration/bench_getblob_test.go) ====\n'
  command -v curl >/dev/null || { echo "bench: curl is required" >&2; exit 1; }
  out="${BENCH_OUT:-$(mktemp -d)/bench-getblob.md}"
  STEVEDORE_BENCH=1 STEVEDORE_BENCH_OUT="$out" \
    go test -count=1 -run '^TestBenchGetBlob$' -v -timeout 30m ./integration/
  echo "bench: report written to $out"

  printf '\n==== registry vs distribution (integration/bench_registry_test.go) ====\n'
  command -v wrk >/dev/null || { echo "bench: wrk is required (apt-get install wrk)" >&2; exit 1; }
  regout="${out%.md}-registry.md"
  STEVEDORE_BENCH=1 STEVEDORE_BENCH_OUT="$regout" \
    go test -count=1 -run '^TestBenchRegistry$' -v -timeout 30m ./integration/
  echo "bench: report written to $regout"
fi

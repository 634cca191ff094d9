#!/usr/bin/env bash
# The benchmarks (`make bench`): the go test -bench micro-benchmarks of every
# package but integration/, then every peer comparison in integration/
# (TestBench<Name> for each name in PEER_BENCHES: GetBlob, the registry,
# 16 concurrent pushes, copy, mirror, the pull-through cache, build, export,
# S3 replicas), then the ratio summary (scripts/bench-ratios.sh): one line
# per path and peer, stevedore's speed-up and the load average. Numbers are
# reported, never judged: nothing here fails on timing, only on a benchmark
# that errors (a peer missing or failing, a wrong byte). docs/BENCHMARKS.md
# records the results.
#
#   BENCH_DIR=DIR      where each benchmark's markdown report goes
#                      (bench-<Name>.md) with the whole log (bench.log);
#                      default: a temp dir, printed
#   BENCH_ONLY="Mirror Copy"   run only these peer benchmarks
#   BENCH_SKIP_MICRO=1 / BENCH_SKIP_PEERS=1   run only one half
#
# The benchmarks' own knobs pass through: STEVEDORE_BENCH_MIB (data size,
# default each one's, mostly 1024), STEVEDORE_BENCH_RUNS (timed runs),
# STEVEDORE_BENCH_SECONDS (wrk), STEVEDORE_BENCH_MIRROR_IMAGES (50).
set -euo pipefail

cd "$(dirname "$0")/.."

BIN="$(bash scripts/install-tools.sh)"
export PATH="$BIN:$PATH"
export STEVEDORE_REQUIRE_PEERS=1

dir="${BENCH_DIR:-$(mktemp -d)}"
mkdir -p "$dir"
log="$dir/bench.log"
: >"$log"
failed=()

if [ "${BENCH_SKIP_MICRO:-}" != 1 ]; then
  printf '\n==== go test -bench (micro-benchmarks) ====\n' | tee -a "$log"
  mapfile -t pkgs < <(go list ./... | grep -v '/integration$' | grep -v '/integration/')
  go test -run '^$' -bench . -benchmem "${pkgs[@]}" 2>&1 | tee -a "$log" || failed+=(micro-benchmarks)
fi

if [ "${BENCH_SKIP_PEERS:-}" != 1 ]; then
  # Replicas is added on another branch: the only one whose absence
  # (go test -list does not name it) is not an error.
  PEER_BENCHES=(GetBlob Registry Push16 Copy Mirror Cache Build Export Replicas)
  read -r -a only <<<"${BENCH_ONLY:-${PEER_BENCHES[*]}}"
  listed="$(go test -list '^TestBench' ./integration/)"
  for name in "${only[@]}"; do
    if ! grep -qx "TestBench$name" <<<"$listed"; then
      if [ "$name" = Replicas ]; then
        echo "bench: TestBenchReplicas is not in integration/ yet: left out" | tee -a "$log"
        continue
      fi
      echo "bench: no TestBench$name in integration/" | tee -a "$log"
      failed+=("$name")
      continue
    fi
    printf '\n==== TestBench%s (integration/) ====\n' "$name" | tee -a "$log"
    STEVEDORE_BENCH=1 STEVEDORE_BENCH_OUT="$dir/bench-$name.md" \
      go test -count=1 -run "^TestBench$name\$" -v -timeout 60m ./integration/ 2>&1 | tee -a "$log" || failed+=("$name")
  done
fi

echo "bench: reports and log in $dir"
bash scripts/bench-ratios.sh "$log"
if [ ${#failed[@]} -gt 0 ]; then
  echo "bench: failed (an error, not a time): ${failed[*]}"
  exit 1
fi

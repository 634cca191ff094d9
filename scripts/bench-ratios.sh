#!/usr/bin/env bash
# bench-ratios.sh LOG: the ratio summary that ends `make bench` and the CI
# benchmark smoke. Every peer benchmark in integration/ logs one line per
# path and peer (benchRatio in integration/bench_knobs_test.go):
#
#   RATIO path="..." peer="..." ratio=1.23 load="1.50 1.20 1.00"
#
# This prints them as a table, stevedore's speed-up first (>1: stevedore is
# faster), then the machine's load average now. It judges nothing.
set -euo pipefail

log=${1:?usage: bench-ratios.sh LOG}
printf '\n==== ratios: stevedore speed-up over each peer (>1: stevedore faster) ====\n'
grep -o 'RATIO path=.*' "$log" | awk -F'"' '{
  r = $5; sub(/^ ratio=/, "", r); sub(/ load=$/, "", r)
  printf "%7s  %-70s vs %-28s load %s\n", r "x", $2, $4, $6
}' || echo "(no RATIO lines in $log)"
printf 'load average now: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"

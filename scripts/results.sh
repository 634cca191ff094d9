# shellcheck shell=bash
# Sourced by scripts/test.sh, clients/test.sh, scripts/doc-tour.sh,
# scripts/release-check.sh and scripts/gate-test.sh: where test results go
# and how a shell-level check is recorded, for scripts/tally.
#
#   STEVEDORE_RESULTS  the directory scripts/tally reads; a script run on its
#                      own makes one and prints the tally itself (own_results)
#   STEVEDORE_TALLY    the tally binary (built here when unset)

# results_init makes sure STEVEDORE_RESULTS and STEVEDORE_TALLY are set;
# own_results is 1 when this script made the directory and so prints the
# tally at its end.
results_init() {
  own_results=0
  if [ -z "${STEVEDORE_RESULTS:-}" ]; then
    STEVEDORE_RESULTS="$(mktemp -d "${TMPDIR:-/tmp}/stevedore-results.XXXXXX")"
    own_results=1
  fi
  mkdir -p "$STEVEDORE_RESULTS"
  if [ -z "${STEVEDORE_TALLY:-}" ] || [ ! -x "$STEVEDORE_TALLY" ]; then
    STEVEDORE_TALLY="$STEVEDORE_RESULTS/.tally"
    go build -o "$STEVEDORE_TALLY" ./scripts/tally || return 1
  fi
  export STEVEDORE_RESULTS STEVEDORE_TALLY
}

# record TIER STATUS NAME [REASON]: one shell-level check (STATUS is PASS,
# FAIL or SKIP), printed and kept for the tally.
record() {
  local tier=$1 status=$2 name=$3 reason=${4:-}
  reason=${reason//$'\t'/ }
  reason=${reason//$'\n'/ }
  printf -- '--- %s: %s%s\n' "$status" "$name" "${reason:+ ($reason)}"
  printf '%s\t%s\t%s\n' "$status" "$name" "$reason" >>"$STEVEDORE_RESULTS/$tier.checks"
}

# check TIER NAME COMMAND...: runs COMMAND and records whether it succeeded.
check() {
  local tier=$1 name=$2
  shift 2
  if "$@"; then
    record "$tier" PASS "$name"
  else
    record "$tier" FAIL "$name" "exit $?"
    return 1
  fi
}

# gotest TIER [-failures] GO-TEST-ARGS...: go test -json, its events kept as
# TIER.gojson for the tally and printed as go test -v prints them (with
# -failures: as plain go test does, package lines and failed tests only).
gotest() {
  local tier=$1 mode=()
  shift
  if [ "${1:-}" = -failures ]; then
    mode=(-failures)
    shift
  fi
  go test -json "$@" | tee -a "$STEVEDORE_RESULTS/$tier.gojson" | "$STEVEDORE_TALLY" render "${mode[@]}"
}

# tally_summary prints the failures, unallowed skips and the one-line tally.
tally_summary() {
  local quick=()
  [ "${QUICK:-}" = 1 ] && quick=(-quick)
  "$STEVEDORE_TALLY" summary "${quick[@]}" -allow scripts/skip-allowlist.txt "$STEVEDORE_RESULTS"
}

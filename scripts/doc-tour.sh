#!/usr/bin/env bash
# The tour that runs verbatim: executes the command blocks of README.md and
# docs/EXAMPLES.md (or the Markdown files given as arguments) as written, in
# order, against a fresh `stevedore serve` on the default ports, and records
# a PASS or FAIL per block for scripts/tally (a stage of `make test`).
#
# Which blocks run: every block fenced as ```sh. Words after "sh" in the
# fence's info string say how:
#   (none)         in a fresh empty directory
#   repo           in the repository root (README's `go install ./cmd/stevedore`)
#   dist           in dist/, which `make release` wrote (README's release
#                  install); without it the block is a skip, which only
#                  QUICK=1 allows
#   background     started and kept running for the rest of the tour
#                  (README's `stevedore serve`); the tour waits until
#   ready=URL      answers 200
#   not-in-tour=WHY  shown to readers but not run here; WHY is printed
#                  (`make test`, which runs this tour)
# Anything else a reader should see but not run is fenced as text, yaml, go,
# python or ts. A ```bash, ```shell or ```console fence in a tour document
# is an error, so no command block escapes the tour by its spelling.
#
# Each block runs as `bash -e -o pipefail`, with a fresh empty HOME (no
# credentials or keys from the machine) and stdin from /dev/null (a
# prompt fails instead of hanging); whatever it needs besides the shared
# server (a second registry, an image, sbom.json, mirror.yaml) must be made
# by an earlier line of the same block. Processes a block leaves behind are
# killed when it ends. PATH: the stevedore under test (STEVEDORE_BIN, or built
# here; README's install block replaces it), then the tools directory
# (STEVEDORE_TOOLS_BIN, or scripts/install-tools.sh's output: grpcurl, crane,
# oras, skopeo, cosign, regctl). The tour runs in a private network namespace
# (unshare -n) when it can, so the default ports 5000, 8080 and 9090 are free
# even on a shared machine; otherwise they must be free.
#
# To add a document, pass it (or add it to DOCS below); to add a block, write
# it so that it runs from an empty directory against `stevedore serve`.
set -uo pipefail

cd "$(dirname "$0")/.."
repo="$PWD"
DOCS=("$@")
if [ ${#DOCS[@]} -eq 0 ]; then
  DOCS=(README.md docs/EXAMPLES.md)
fi

# A private network namespace: root can make one directly, others through a
# user namespace. Loopback starts down there.
if [ -z "${STEVEDORE_TOUR_NETNS:-}" ]; then
  for how in "-n" "-rn"; do
    if unshare $how true 2>/dev/null; then
      exec unshare $how env STEVEDORE_TOUR_NETNS=1 bash "$0" "$@"
    fi
  done
  echo "doc-tour: no network namespace available (unshare -n); using the host's ports" >&2
  STEVEDORE_TOUR_NETNS=0
fi
if [ "$STEVEDORE_TOUR_NETNS" = 1 ]; then
  ip link set lo up || exit 1
fi

source scripts/results.sh
results_init || exit 1
tier=doc-tour

tour="$(mktemp -d "${TMPDIR:-/tmp}/stevedore-tour.XXXXXX")"
bg_pids=()
cleanup() {
  for p in "${bg_pids[@]}"; do
    kill -TERM -- "-$p" 2>/dev/null
  done
  wait 2>/dev/null
  rm -rf "$tour"
}
trap cleanup EXIT

# The binaries: stevedore under test first, then the peer tools.
mkdir -p "$tour/bin"
if [ -n "${STEVEDORE_BIN:-}" ]; then
  cp "$STEVEDORE_BIN" "$tour/bin/stevedore"
else
  go build -o "$tour/bin/stevedore" ./cmd/stevedore || exit 1
fi
tools="${STEVEDORE_TOOLS_BIN:-$(bash scripts/install-tools.sh)}" || exit 1
# Go's caches stay where they are when blocks get their own HOME.
for v in GOPATH GOMODCACHE GOCACHE; do
  export "$v=$(go env "$v")"
done
export GOBIN="$tour/bin" PATH="$tour/bin:$tools:$PATH"
unset COSIGN_PASSWORD DOCKER_CONFIG REGISTRY_AUTH_FILE

# ready URL [SECONDS]: polls URL until it answers 200.
ready() {
  local deadline=$((SECONDS + ${2:-60}))
  until curl -fsS -o /dev/null "$1" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}

# run_block WHERE ATTRS BODY
run_block() {
  local where=$1 attrs=$2 body=$3 dir home why="" bg=0 url="" a
  home="$(mktemp -d "$tour/block.XXXXXX")"
  dir="$home"
  for a in $attrs; do
    case "$a" in
      repo) dir="$repo" ;;
      dist)
        dir="$repo/dist"
        if [ ! -f "$dir/SHA256SUMS" ]; then
          record "$tier" SKIP "$where" "no dist/: make release first"
          return
        fi
        ;;
      background) bg=1 ;;
      ready=*) url="${a#ready=}" ;;
      not-in-tour=*) why="${a#not-in-tour=}" ;;
      *)
        record "$tier" FAIL "$where" "unknown fence attribute $a"
        return
        ;;
    esac
  done
  printf '\n==== %s %s\n' "$where" "${attrs:+[$attrs]}"
  printf '%s' "$body" | sed 's/^/  | /'
  if [ -n "$why" ]; then
    echo "  (not run in the tour: ${why//-/ })"
    return
  fi
  if [ $bg = 1 ]; then
    (cd "$dir" && HOME="$home" exec setsid -w bash -e -o pipefail -c "$body" </dev/null >"$tour/bg.log" 2>&1) &
    bg_pids+=($!)
    if [ -z "$url" ] || ! ready "$url"; then
      cat "$tour/bg.log"
      record "$tier" FAIL "$where" "background block not ready${url:+ at $url}"
      return
    fi
    record "$tier" PASS "$where"
    return
  fi
  local start=$SECONDS rc
  (cd "$dir" && HOME="$home" exec setsid -w bash -e -o pipefail -c "$body" </dev/null 2>&1) &
  local pid=$!
  (sleep 600 && kill -TERM -- "-$pid" 2>/dev/null) &
  local watchdog=$!
  wait "$pid"
  rc=$?
  kill "$watchdog" 2>/dev/null
  wait "$watchdog" 2>/dev/null
  kill -TERM -- "-$pid" 2>/dev/null # what the block left running
  echo # the block's last line may lack a newline
  if [ $rc -eq 0 ]; then
    record "$tier" PASS "$where" "$((SECONDS - start))s"
  else
    record "$tier" FAIL "$where" "exit $rc"
  fi
}

# tour_doc FILE runs FILE's blocks in order.
tour_doc() {
  local file=$1 lineno=0 start=0 inblock=0 attrs="" body="" line
  while IFS= read -r line || [ -n "$line" ]; do
    lineno=$((lineno + 1))
    if [ $inblock = 0 ]; then
      if [[ $line =~ ^\`\`\`sh([[:space:]]+(.*))?$ ]]; then
        inblock=1 start=$lineno attrs="${BASH_REMATCH[2]}" body=""
      elif [[ $line =~ ^[[:space:]]*\`\`\`(bash|shell|console|zsh)\b ]]; then
        record "$tier" FAIL "$file:$lineno" "fence it as sh (runs in the tour) or text (does not)"
      elif [[ $line =~ ^[[:space:]]*\`\`\`.+ ]]; then
        inblock=2 # another language: skipped whole
      fi
    elif [[ $line =~ ^\`\`\`[[:space:]]*$ ]]; then
      if [ $inblock = 1 ]; then
        run_block "$file:$start" "$attrs" "$body"
      fi
      inblock=0
    elif [ $inblock = 1 ]; then
      body+="$line"$'\n'
    fi
  done <"$file"
}

for doc in "${DOCS[@]}"; do
  # The shared server: README's background block starts it; a tour of other
  # documents alone starts it here.
  if [ ${#bg_pids[@]} -eq 0 ] && ! grep -q '^```sh.*background' "$doc"; then
    (cd "$tour" && exec setsid stevedore serve </dev/null >"$tour/serve.log" 2>&1) &
    bg_pids+=($!)
    ready http://127.0.0.1:8080/healthz || {
      cat "$tour/serve.log"
      record "$tier" FAIL "stevedore serve for $doc" "not ready"
      continue
    }
  fi
  tour_doc "$doc"
done

if [ "$own_results" = 1 ]; then
  tally_summary
else
  ! grep -q '^FAIL' "$STEVEDORE_RESULTS/$tier.checks" 2>/dev/null
fi

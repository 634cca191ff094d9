#!/usr/bin/env bash
# GetBlob throughput of each client (Go, Python, TypeScript) against `curl`
# of the same blob from the OCI registry port, on one `stevedore serve`.
# Runs only with STEVEDORE_BENCH=1 (clients/test.sh calls it last), so
# `make test` stays fast. Prints a Markdown table: median of 3 runs, MB/s
# (10^6 bytes per second), each run writing the blob to disk and, for the
# clients, verifying its digest.
#
#   STEVEDORE_BENCH_SIZE   big layer in bytes (default 256 MiB)
#   STEVEDORE_BIN, STEVEDORE_MKFIXTURE, STEVEDORE_PY (a python with the
#   client installed); clients/ts must be built (npm ci && npm run build).
set -euo pipefail

[ "${STEVEDORE_BENCH:-}" = 1 ] || { echo "clients/bench.sh: set STEVEDORE_BENCH=1 to run"; exit 0; }
cd "$(dirname "$0")/.."
root="$PWD"
tmp="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

bin="${STEVEDORE_BIN:-}"
[ -n "$bin" ] || { go build -o "$tmp/stevedore" ./cmd/stevedore; bin="$tmp/stevedore"; }
mk="${STEVEDORE_MKFIXTURE:-}"
[ -n "$mk" ] || { go build -o "$tmp/mkfixture" ./clients/go/internal/mkfixture; mk="$tmp/mkfixture"; }
go build -o "$tmp/getblob" ./clients/go/internal/getblob
py="${STEVEDORE_PY:-python3}"
size="${STEVEDORE_BENCH_SIZE:-$((256 << 20))}"

"$mk" -size "$size" "$tmp/layout" >"$tmp/fixture.json"
digest="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][1]["digest"])' "$tmp/fixture.json")"

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
grpc="127.0.0.1:$(port)" http="127.0.0.1:$(port)" reg="127.0.0.1:$(port)"
"$bin" serve --grpc-addr "$grpc" --http-addr "$http" --registry-addr "$reg" --data "$tmp/data" >"$tmp/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -fsS "http://$http/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

# Into the server's own registry, so curl can GET /v2/bench/blobs/DIGEST and
# every client reads the same bytes from the same store.
"$bin" copy "oci:$tmp/layout:v1" "$reg/bench:v1" >"$tmp/copy.log" 2>&1 || { cat "$tmp/copy.log"; exit 1; }
ref="$reg/bench@$digest"

# median of 3 wall-clock runs of "$@", in MB/s
measure() {
  local times=()
  for _ in 1 2 3; do
    rm -f "$tmp/out"
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null
    t1=$(date +%s.%N)
    [ "$(stat -c %s "$tmp/out")" = "$size" ] || { echo "short download: $*" >&2; exit 1; }
    times+=("$(echo "$t1 - $t0" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -g | sed -n 2p | awk -v n="$size" '{ printf "%.0f", n / $1 / 1e6 }'
}

curl_mbs=$(measure curl -fsS -o "$tmp/out" "http://$reg/v2/bench/blobs/$digest")
# The clients fsync the file before it appears (it must never be partial
# after a crash); curl does not, so this row is the like-for-like one.
curl_sync_mbs=$(measure sh -c 'curl -fsS -o "$1" "$2" && sync "$1"' sh "$tmp/out" "http://$reg/v2/bench/blobs/$digest")
go_mbs=$(measure "$tmp/getblob" "$grpc" "$ref" "$tmp/out")
py_mbs=$(measure "$py" -c 'import sys, stevedore_oci; stevedore_oci.Client(sys.argv[1]).download_blob(sys.argv[2], sys.argv[3])' "$grpc" "$ref" "$tmp/out")
ts_mbs=$(measure node --input-type=module -e "
import { createClient } from '$root/clients/ts/dist/src/index.js';
await createClient('http://' + process.argv[1]).downloadBlob(process.argv[2], process.argv[3]);" "$grpc" "$ref" "$tmp/out")

echo "| client | MB/s (median of 3, $((size >> 20)) MiB blob) |"
echo "|---|---|"
echo "| curl, OCI port (/v2/…/blobs/…) | $curl_mbs |"
echo "| curl, then fsync of the file (as the clients do) | $curl_sync_mbs |"
echo "| Go (OpenBlob, verified) | $go_mbs |"
echo "| Python (download_blob, verified) | $py_mbs |"
echo "| TypeScript (downloadBlob, verified) | $ts_mbs |"

#!/usr/bin/env bash
# Installs the tools the tests need on a fresh machine: code generators and the peer
# tools used as oracles. Go binaries are cached by version under ~/.cache/stevedore/bin
# so reruns take seconds. Prints the bin dir to put on PATH.
set -euo pipefail

CACHE="${STEVEDORE_TOOLS_CACHE:-$HOME/.cache/stevedore/bin}"
mkdir -p "$CACHE"

# go_tool NAME MODULE_PATH@VERSION: builds once per version, then links NAME into $CACHE.
go_tool() {
  local name=$1 pkg=$2
  local ver=${pkg##*@}
  local dir="$CACHE/.v/$name-$ver"
  if [ ! -x "$dir/$name" ]; then
    echo "install-tools: building $name $ver" >&2
    mkdir -p "$dir"
    GOBIN="$dir" GOFLAGS=-mod=mod go install "$pkg" >&2
  fi
  ln -sf "$dir/$name" "$CACHE/$name"
}

go_tool crane github.com/google/go-containerregistry/cmd/crane@v0.22.1
go_tool oras oras.land/oras/cmd/oras@v1.3.6
go_tool regctl github.com/regclient/regclient/cmd/regctl@v0.11.7
# regsync (same module as regctl) is a peer in the mirror benchmark.
go_tool regsync github.com/regclient/regclient/cmd/regsync@v0.11.7
go_tool grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.4
go_tool registry github.com/distribution/distribution/v3/cmd/registry@v3.1.2
# cosign signs and verifies as the oracle for SignService (~10 min cold build).
go_tool cosign github.com/sigstore/cosign/v3/cmd/cosign@v3.1.3
# versitygw is the S3 server the S3 store is tested against (~6 min cold build).
go_tool versitygw github.com/versity/versitygw/cmd/versitygw@v1.8.0
# cyclonedx-gomod writes the release's SBOM of the Go dependencies (make release).
go_tool cyclonedx-gomod github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0

# The conformance suite is a test package; build it in a scratch module.
CONF_VER=v0.0.0-20260831232431-97274622c111
if [ ! -x "$CACHE/.v/oci-conformance-$CONF_VER/oci-conformance" ]; then
  echo "install-tools: building oci-conformance $CONF_VER" >&2
  tmp=$(mktemp -d)
  (cd "$tmp" && go mod init scratch >/dev/null 2>&1 \
    && go get "github.com/opencontainers/distribution-spec/conformance@$CONF_VER" >&2 \
    && go test -c -o oci-conformance github.com/opencontainers/distribution-spec/conformance >&2)
  mkdir -p "$CACHE/.v/oci-conformance-$CONF_VER"
  mv "$tmp/oci-conformance" "$CACHE/.v/oci-conformance-$CONF_VER/"
  rm -rf "$tmp"
fi
ln -sf "$CACHE/.v/oci-conformance-$CONF_VER/oci-conformance" "$CACHE/oci-conformance"

# From Debian: skopeo (an oracle), wrk (manifest GETs at 64 connections in the
# registry benchmark), and what the documented tour uses besides our tools
# (scripts/doc-tour.sh): jq, curl, openssl, htpasswd (apache2-utils).
apt_tool() {
  local cmd=$1 pkg=$2
  if ! command -v "$cmd" >/dev/null 2>&1; then
    echo "install-tools: apt-get install $pkg" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg") >&2
  fi
}
apt_tool skopeo skopeo
apt_tool wrk wrk
apt_tool jq jq
apt_tool curl curl
apt_tool openssl openssl
apt_tool htpasswd apache2-utils
# chromium drives the console's browser tests (integration/console_test.go,
# through playwright-core, which is pointed at it and never downloads one).
apt_tool chromium chromium

# Link the Debian tools into the tools directory too, so that directory is
# the one place tests take tools from (integration/, clients/test.sh, the
# tour and the gate test all put it first on PATH).
for t in skopeo; do
  src="$(command -v "$t")"
  if [ "$(readlink -f "$src")" != "$(readlink -f "$CACHE/$t")" ]; then
    ln -sf "$(readlink -f "$src")" "$CACHE/$t"
  fi
done

# containerd is the real client of the pull-through cache's mirror tests (TestCacheContainerd
# starts its own daemon with a temporary root, state dir and socket); it comes from Debian.
if ! command -v containerd >/dev/null 2>&1 || ! command -v ctr >/dev/null 2>&1; then
  echo "install-tools: apt-get install containerd" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq containerd) >&2
fi

echo "$CACHE"

#!/usr/bin/env bash
# Builds stevedore's own container image with stevedore, from the linux
# binaries in dist/ (scripts/release.sh writes them), into the OCI layout
# LAYOUT, tagged with dist/VERSION ('+' made '-'), and prints the digest of
# its index. The same binaries and commit always give the same digest
# (build --reproducible, times from SOURCE_DATE_EPOCH, the commit time).
#
#   scripts/release-image.sh LAYOUT
#   STEVEDORE   the stevedore that builds (default dist/stevedore-HOSTOS-HOSTARCH)
#
# Image: /usr/local/bin/stevedore, the build machine's CA bundle (for HTTPS
# registries), /var/lib/stevedore for data; runs `stevedore serve` as user
# 65532 on 0.0.0.0 (ports 9090 gRPC, 8080 REST, 5000 registry).
set -euo pipefail
cd "$(dirname "$0")/.."

layout=${1:?usage: scripts/release-image.sh LAYOUT}
dist=dist
version="$(cat "$dist/VERSION")"
tag="${version//+/-}"
commit="$(git rev-parse HEAD)"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}"
date="$(TZ=UTC date -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)"
stevedore="${STEVEDORE:-$dist/stevedore-$(go env GOHOSTOS)-$(go env GOHOSTARCH)}"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
annotations=(
  -a "org.opencontainers.image.title=stevedore"
  -a "org.opencontainers.image.description=Daemonless OCI image toolkit and service"
  -a "org.opencontainers.image.version=$version"
  -a "org.opencontainers.image.revision=$commit"
  -a "org.opencontainers.image.created=$date"
)
members=()
for arch in amd64 arm64; do
  root="$tmp/rootfs-$arch"
  install -D -m 0755 "$dist/stevedore-linux-$arch" "$root/usr/local/bin/stevedore"
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  fi
  install -d -m 1777 "$root/var/lib/stevedore" "$root/tmp"
  "$stevedore" build "$root" -t "oci:$tmp/parts:$arch" --platform "linux/$arch" --reproducible \
    --entrypoint /usr/local/bin/stevedore --cmd serve --user 65532:65532 --workdir /var/lib/stevedore \
    --env STEVEDORE_DATA=/var/lib/stevedore --env STEVEDORE_GRPC_ADDR=0.0.0.0:9090 \
    --env STEVEDORE_HTTP_ADDR=0.0.0.0:8080 --env STEVEDORE_REGISTRY_ADDR=0.0.0.0:5000 \
    --expose 9090 --expose 8080 --expose 5000 "${annotations[@]}" >/dev/null
  members+=("oci:$tmp/parts:$arch")
done
"$stevedore" index create -t "oci:$layout:$tag" "${annotations[@]}" "${members[@]}"

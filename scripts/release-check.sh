#!/usr/bin/env bash
# Checks what `make release` wrote to dist/ (a stage of `make test`, after
# the release is built; nothing is published). Each check is recorded for
# scripts/tally as release: NAME.
#
#   - SHA256SUMS matches; every binary is static (CGO_ENABLED=0) for its
#     GOOS/GOARCH (go version -m) and carries dist/VERSION; the host's one
#     runs and says so
#   - each SBOM is CycloneDX naming this version and the Go modules
#   - the image layout validates (stevedore validate), its index is
#     reproducible (scripts/release-image.sh again: same digest), and
#     `stevedore verify` accepts its signatures offline
#   - one `stevedore copy --referrers` pushes it, signatures and SBOM
#     included, to a fresh `stevedore serve` (the released binary itself);
#     there `crane validate --remote` accepts the index and each platform,
#     and `stevedore verify` and `cosign verify` accept the signatures
set -uo pipefail
cd "$(dirname "$0")/.."

source scripts/results.sh
results_init || exit 1
tier=release
dist=dist
tools="${STEVEDORE_TOOLS_BIN:-$(bash scripts/install-tools.sh)}" || exit 1
export PATH="$tools:$PATH"
tmp="$(mktemp -d)"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

version="$(cat "$dist/VERSION")"
tag="${version//+/-}"
host="$(go env GOHOSTOS)-$(go env GOHOSTARCH)"
stevedore="$dist/stevedore-$host"
pub="$dist/stevedore-release.pub"
image="oci:$dist/image:$tag"

check "$tier" "SHA256SUMS" bash -c "cd $dist && sha256sum --quiet -c SHA256SUMS"

binary_ok() {
  local os=$1 arch=$2 info
  info="$(go version -m "$dist/stevedore-$os-$arch")" || return 1
  grep -qE "build\s+GOOS=$os\$" <<<"$info" && grep -qE "build\s+GOARCH=$arch\$" <<<"$info" &&
    grep -qE "build\s+CGO_ENABLED=0\$" <<<"$info" && grep -qaF "$version" "$dist/stevedore-$os-$arch"
}
for p in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64; do
  check "$tier" "binary ${p/\//-}: static, version $version" binary_ok "${p%/*}" "${p#*/}"
done
check "$tier" "stevedore-$host version" bash -c "'$stevedore' version --json | jq -e --arg v '$version' '.version == \$v and .commit != \"\" and .buildDate != \"\"'"

sbom_ok() {
  jq -e --arg v "$version" '.bomFormat == "CycloneDX" and .metadata.component.version == $v
    and (.components | length) > 20 and ([.components[].name] | index("google.golang.org/grpc") != null)' "$1" >/dev/null
}
for f in "$dist"/stevedore-*.cdx.json; do
  check "$tier" "SBOM $(basename "$f")" sbom_ok "$f"
done

digest="$(jq -r --arg t "$tag" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' "$dist/image/index.json")"
check "$tier" "image: stevedore validate" "$stevedore" validate "$image"
check "$tier" "image: index is reproducible" bash -c \
  "again=\$(STEVEDORE='$stevedore' bash scripts/release-image.sh '$tmp/again') && echo \"rebuilt \$again, released $digest\" && [ \"\$again\" = '$digest' ]"
check "$tier" "image: stevedore verify (layout)" "$stevedore" verify --key "$pub" "$image"

# A fresh server on free ports: the released binary serves.
"$stevedore" serve --data "$tmp/data" --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 --registry-addr 127.0.0.1:0 \
  --log-format json 2>"$tmp/serve.log" &
server=$!
reg=""
for _ in $(seq 100); do
  reg="$(jq -r 'select(.msg == "serving") | .registry' "$tmp/serve.log" 2>/dev/null)"
  [ -n "$reg" ] && curl -fsS -o /dev/null "http://$reg/v2/" && break
  reg=""
  sleep 0.1
done
if [ -z "$reg" ]; then
  cat "$tmp/serve.log"
  record "$tier" FAIL "serve for the push checks" "not ready"
else
  ref="$reg/stevedore:$tag"
  check "$tier" "push: one stevedore copy --referrers" "$stevedore" copy --referrers "$image" "$ref"
  check "$tier" "pushed: same index digest" bash -c "[ \"\$(crane digest '$ref')\" = '$digest' ]"
  check "$tier" "pushed: crane validate --remote (index)" crane validate --remote "$ref"
  for p in linux/amd64 linux/arm64; do
    check "$tier" "pushed: crane validate --platform $p" crane validate --platform "$p" --remote "$ref"
  done
  check "$tier" "pushed: stevedore verify" "$stevedore" verify --key "$pub" "$ref"
  check "$tier" "pushed: cosign verify" cosign verify --key "$pub" --insecure-ignore-tlog --allow-insecure-registry "$reg/stevedore@$digest"
  check "$tier" "pushed: SBOM among the referrers" bash -c \
    "'$stevedore' artifact discover --json --artifact-type application/vnd.cyclonedx+json '$ref' | jq -e '[.. | objects | select(.artifactType? == \"application/vnd.cyclonedx+json\")] | length > 0' >/dev/null"
fi

if [ "$own_results" = 1 ]; then
  tally_summary
else
  ! grep -q '^FAIL' "$STEVEDORE_RESULTS/$tier.checks"
fi

#!/usr/bin/env bash
# `make release`: everything a release publishes, built into dist/ (nothing
# is pushed or uploaded):
#
#   stevedore-{linux,darwin}-{amd64,arm64}   static binaries (CGO_ENABLED=0,
#                                            -trimpath), version stamped in
#   stevedore-OS-ARCH.cdx.json               CycloneDX SBOM of each binary's Go
#                                            modules (cyclonedx-gomod app)
#   stevedore_oci-*.whl, stevedore_oci-*.tar.gz   the Python client (python -m build)
#   stevedore-dev-client-*.tgz               the TypeScript client (npm pack)
#   stevedore-release.pub                    the key the image is signed with
#   SHA256SUMS                               of all of the above
#   VERSION                                  the version; the image's tag is
#                                            the same with '+' made '-'
#   image/                                   stevedore's own container image,
#                                            built by stevedore: an OCI layout
#                                            holding a linux/amd64 + linux/arm64
#                                            index (stevedore build, index
#                                            create), signed (stevedore sign
#                                            --recursive) with the SBOMs
#                                            attached (stevedore artifact attach)
#
# Push it all with one copy:
#   stevedore copy --referrers oci:dist/image:TAG REGISTRY/stevedore:TAG
#
#   VERSION       default: `git describe --tags` of a v* tag, else a Go
#                 pseudo-version of HEAD (v0.0.0-YYYYMMDDhhmmss-abcdef012345),
#                 "+dirty" with local changes
#   RELEASE_KEY   cosign private key that signs the image (password in
#                 COSIGN_PASSWORD); default: a key made for this build only,
#                 whose public half is dist/stevedore-release.pub
#   RELEASE_CLIENTS=0   skip the client packages
#
# Reproducible: times come from the commit (SOURCE_DATE_EPOCH), so the same
# commit gives the same binaries, SBOMs and image index digest
# (scripts/release-check.sh rebuilds the image and compares). Signatures are
# not: ECDSA signing is randomised.
set -euo pipefail
cd "$(dirname "$0")/.."

dist=dist
module=github.com/stevedore-dev/stevedore
platforms=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64)

commit="$(git rev-parse HEAD)"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}"
date="$(TZ=UTC date -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)"
dirty=""
[ -z "$(git status --porcelain --untracked-files=no)" ] || dirty="+dirty"
if [ -z "${VERSION:-}" ]; then
  if ! VERSION="$(git describe --tags --match 'v[0-9]*' --exact-match 2>/dev/null)"; then
    VERSION="v0.0.0-$(TZ=UTC date -d "@$SOURCE_DATE_EPOCH" +%Y%m%d%H%M%S)-${commit:0:12}"
  fi
  VERSION="$VERSION$dirty"
fi
tag="${VERSION//+/-}"

step() { printf '\n---- release: %s\n' "$*" >&2; }
tools="${STEVEDORE_TOOLS_BIN:-$(bash scripts/install-tools.sh)}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

rm -rf "$dist"
mkdir -p "$dist"
echo "$VERSION" >"$dist/VERSION"

step "binaries $VERSION (${platforms[*]})"
ldflags="-s -w -X $module/service/version.version=$VERSION -X $module/service/version.commit=$commit -X $module/service/version.date=$date"
for p in "${platforms[@]}"; do
  os=${p%/*} arch=${p#*/}
  start=$SECONDS
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -buildvcs=false -ldflags "$ldflags" \
    -o "$dist/stevedore-$os-$arch" ./cmd/stevedore
  echo "stevedore-$os-$arch: $((SECONDS - start))s" >&2
done

step "SBOMs (cyclonedx-gomod)"
# cyclonedx-gomod names the main module's version after git (a tag at HEAD,
# else a pseudo-version), which fails in linked worktrees and exports. So it
# runs on a copy with a one-commit history of its own, and the version it
# derived is replaced by ours.
src="$tmp/src"
mkdir "$src"
tar -c --exclude=./.git --exclude=./dist --exclude=node_modules --exclude=./clients/python/build . | tar -x -C "$src"
(cd "$src" && git init -q && git add -A &&
  GIT_AUTHOR_DATE="@$SOURCE_DATE_EPOCH" GIT_COMMITTER_DATE="@$SOURCE_DATE_EPOCH" \
    git -c user.name=release -c user.email=release@localhost commit -q -m release)
for p in "${platforms[@]}"; do
  os=${p%/*} arch=${p#*/}
  out="$dist/stevedore-$os-$arch.cdx.json"
  (cd "$src" && CGO_ENABLED=0 GOOS=$os GOARCH=$arch GOFLAGS=-mod=mod \
    "$tools/cyclonedx-gomod" app -json -noserial -notimestamp -licenses -main cmd/stevedore -output "$tmp/sbom.json" . 2>"$tmp/sbom.log") ||
    { cat "$tmp/sbom.log" >&2; exit 1; }
  derived="$(jq -r .metadata.component.version "$tmp/sbom.json")"
  jq --arg from "$derived" --arg to "$VERSION" \
    'walk(if type == "string" then gsub("@" + $from; "@" + $to) else . end) | .metadata.component.version = $to' \
    "$tmp/sbom.json" >"$out"
  echo "$(basename "$out"): $(jq '.components | length' "$out") modules" >&2
done

if [ "${RELEASE_CLIENTS:-1}" = 1 ]; then
  step "client packages"
  python3 -m venv "$tmp/build-venv"
  "$tmp/build-venv/bin/pip" install --quiet --disable-pip-version-check "build==1.3.0"
  "$tmp/build-venv/bin/python" -m build --outdir "$dist" clients/python >"$tmp/pybuild.log" 2>&1 ||
    { cat "$tmp/pybuild.log" >&2; exit 1; }
  (cd clients/ts && npm ci --no-audit --no-fund --loglevel=error >&2 && npm pack --silent --pack-destination "../../$dist" >/dev/null)
  rm -rf clients/python/build clients/python/src/*.egg-info
fi

step "image: stevedore build, index create (scripts/release-image.sh)"
stevedore="$dist/stevedore-$(go env GOHOSTOS)-$(go env GOHOSTARCH)"
digest="$(STEVEDORE="$stevedore" bash scripts/release-image.sh "$dist/image")"

step "sign the image, attach the SBOMs"
if [ -n "${RELEASE_KEY:-}" ]; then
  key="$RELEASE_KEY"
  cp "${RELEASE_KEY%.key}.pub" "$dist/stevedore-release.pub"
else
  # A key for this build only: its public half verifies this dist/.
  export COSIGN_PASSWORD="$(head -c 24 /dev/urandom | base64)"
  key="$tmp/release.key"
  "$stevedore" generate-key-pair --output-prefix "$tmp/release" 2>/dev/null
  cp "$tmp/release.pub" "$dist/stevedore-release.pub"
fi
"$stevedore" sign --key "$key" --recursive "oci:$dist/image@$digest" >/dev/null
"$stevedore" artifact attach "oci:$dist/image@$digest" --artifact-type application/vnd.cyclonedx+json \
  -a "org.opencontainers.image.created=$date" \
  "$dist/stevedore-linux-amd64.cdx.json:application/vnd.cyclonedx+json" \
  "$dist/stevedore-linux-arm64.cdx.json:application/vnd.cyclonedx+json" >/dev/null
"$stevedore" tree "oci:$dist/image:$tag" >&2

step "SHA256SUMS"
(cd "$dist" && find . -maxdepth 1 -type f ! -name SHA256SUMS -printf '%f\n' | LC_ALL=C sort | xargs sha256sum >SHA256SUMS)
cat "$dist/SHA256SUMS" >&2
echo "release $VERSION in $dist/: image oci:$dist/image:$tag ($digest)" >&2
echo "push it: stevedore copy --referrers oci:$dist/image:$tag REGISTRY/stevedore:$tag" >&2

#!/usr/bin/env bash
# Regenerates, from proto/ and after linting:
#   gen/                         Go messages, gRPC, gateway
#   service/openapi/             OpenAPI v2
#   clients/ts/src/gen/          TypeScript (Connect-ES)
#   clients/python/src/stevedore_oci/v1/*_pb2{,_grpc}.py, *_pb2.pyi   Python
# Deterministic: running it twice changes nothing, so CI checks freshness with
#   scripts/gen.sh && git diff --exit-code -- gen service/openapi clients/ts/src/gen clients/python/src
# buf comes from npm (scripts/install-buf.sh); the Go protoc plugins are pinned
# in tools/go.mod and built on first use by `go tool` (see buf.gen.yaml);
# protoc-gen-es (npm) and grpcio-tools (PyPI) are pinned below and installed
# once into ~/.cache/stevedore (STEVEDORE_NPM_CACHE, STEVEDORE_PY_CACHE move it).
set -euo pipefail

cd "$(dirname "$0")/.."
BUF="$(scripts/install-buf.sh)"

PROTOC_GEN_ES_VERSION=2.13.0
GRPCIO_TOOLS_VERSION=1.85.1
PROTOBUF_PY_VERSION=7.36.2 # what grpcio-tools needs at run time; the output does not depend on it

# protoc-gen-es, from npm like buf.
es_prefix="${STEVEDORE_NPM_CACHE:-$HOME/.cache/stevedore/npm}/protoc-gen-es-$PROTOC_GEN_ES_VERSION"
if [ ! -x "$es_prefix/node_modules/.bin/protoc-gen-es" ] ||
  [ "$("$es_prefix/node_modules/.bin/protoc-gen-es" --version 2>/dev/null)" != "protoc-gen-es v$PROTOC_GEN_ES_VERSION" ]; then
  echo "gen: installing @bufbuild/protoc-gen-es@$PROTOC_GEN_ES_VERSION into $es_prefix" >&2
  mkdir -p "$es_prefix"
  npm install --prefix "$es_prefix" --no-audit --no-fund --no-save "@bufbuild/protoc-gen-es@$PROTOC_GEN_ES_VERSION" >&2
fi
export PATH="$es_prefix/node_modules/.bin:$PATH"

# grpcio-tools (protoc with the Python, .pyi and gRPC Python generators), in a venv.
py_venv="${STEVEDORE_PY_CACHE:-$HOME/.cache/stevedore/python}/grpcio-tools-$GRPCIO_TOOLS_VERSION"
if ! "$py_venv/bin/python" -c "import grpc_tools.protoc" 2>/dev/null; then
  echo "gen: installing grpcio-tools==$GRPCIO_TOOLS_VERSION into $py_venv" >&2
  rm -rf "$py_venv"
  python3 -m venv "$py_venv"
  "$py_venv/bin/pip" install --quiet "grpcio-tools==$GRPCIO_TOOLS_VERSION" "protobuf==$PROTOBUF_PY_VERSION" >&2
fi

# Build the plugins once up front so a cold module cache fails here, clearly,
# rather than inside buf's parallel plugin runs.
go build -modfile=tools/go.mod -o /dev/null \
  google.golang.org/protobuf/cmd/protoc-gen-go \
  google.golang.org/grpc/cmd/protoc-gen-go-grpc \
  github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway \
  github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2

"$BUF" format --diff --exit-code
"$BUF" lint
"$BUF" generate

# Python, from the image buf builds (which resolves google/api offline) rather
# than from files, so protoc sees exactly what the other languages saw. Only
# our files are generated: google/api comes from googleapis-common-protos at run
# time, and generating it too would register it twice.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$BUF" build -o "$tmp/image.binpb"
mapfile -t protos < <(cd proto && find stevedore -name '*.proto' | LC_ALL=C sort)
mkdir "$tmp/py"
# Calling protoc.main directly: `python -m grpc_tools.protoc` adds an -I that
# protoc refuses alongside --descriptor_set_in.
"$py_venv/bin/python" -c 'import sys; from grpc_tools import protoc; sys.exit(protoc.main(["protoc"] + sys.argv[1:]))' \
  --descriptor_set_in="$tmp/image.binpb" \
  --python_out="$tmp/py" --pyi_out="$tmp/py" --grpc_python_out="$tmp/py" \
  "${protos[@]}"
# protoc names Python modules after the proto files (stevedore/v1/...), but
# the package is stevedore_oci: a top-level `stevedore` would shadow
# OpenStack's stevedore on PyPI. So the files go under stevedore_oci/ and
# their imports of each other are rewritten to match (the descriptors they
# register keep the proto names, which is what gRPC and protobuf look up).
py_pkg=clients/python/src/stevedore_oci
find "$py_pkg/v1" -type f \( -name '*_pb2.py' -o -name '*_pb2.pyi' -o -name '*_pb2_grpc.py' \) -delete 2>/dev/null || true
mkdir -p "$py_pkg/v1"
for f in "$tmp"/py/stevedore/v1/*; do
  sed -e 's/^from stevedore\.v1 import /from stevedore_oci.v1 import /' "$f" >"$py_pkg/v1/$(basename "$f")"
done
if grep -rnE '^(from|import) stevedore([. ]|$)' "$py_pkg/v1"; then
  echo "gen: generated Python still imports the stevedore package (see above)" >&2
  exit 1
fi
if [ "$(cd "$tmp/py" && find . -type f | grep -vc '^\./stevedore/v1/')" != 0 ]; then
  echo "gen: protoc wrote Python outside stevedore/v1:" >&2
  (cd "$tmp/py" && find . -type f | grep -v '^\./stevedore/v1/') >&2
  exit 1
fi

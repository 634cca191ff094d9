#!/usr/bin/env bash
# Regenerates gen/ (Go messages, gRPC, gateway) and service/openapi/ (OpenAPI v2)
# from proto/, after linting. Deterministic: running it twice changes nothing, so
# CI checks freshness with
#   scripts/gen.sh && git diff --exit-code -- gen service/openapi
# buf comes from npm (scripts/install-buf.sh); the protoc plugins are pinned in
# tools/go.mod and built on first use by `go tool` (see buf.gen.yaml).
set -euo pipefail

cd "$(dirname "$0")/.."
BUF="$(scripts/install-buf.sh)"

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

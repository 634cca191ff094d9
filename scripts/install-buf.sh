#!/usr/bin/env bash
# Installs buf from npm (@bufbuild/buf ships the release binary; building buf from
# source costs minutes and hundreds of MB) into a per-version cache and prints the
# path of the buf binary. Reruns take milliseconds.
set -euo pipefail

BUF_VERSION=1.75.0
PREFIX="${STEVEDORE_NPM_CACHE:-$HOME/.cache/stevedore/npm}/buf-$BUF_VERSION"
BUF="$PREFIX/node_modules/.bin/buf"

if [ ! -x "$BUF" ] || [ "$("$BUF" --version 2>/dev/null)" != "$BUF_VERSION" ]; then
  echo "install-buf: installing @bufbuild/buf@$BUF_VERSION into $PREFIX" >&2
  mkdir -p "$PREFIX"
  npm install --prefix "$PREFIX" --no-audit --no-fund --no-save "@bufbuild/buf@$BUF_VERSION" >&2
fi
echo "$BUF"

#!/usr/bin/env bash
# buf breaking (rules in buf.yaml): a branch is checked against the commit
# where it left the base branch (STEVEDORE_BASE_REF, default main; its remote
# copy when there is no local one), the base branch itself against its
# previous commit. A shallow clone (the usual CI checkout) is deepened with
# git fetch until that commit is there; if it cannot be found the check
# fails. It never skips.
set -euo pipefail
cd "$(dirname "$0")/.."

base="${STEVEDORE_BASE_REF:-main}"
remote="$(git remote | head -n1)"

# resolve_base prints the base branch's commit, local or remote-tracking.
resolve_base() {
  git rev-parse -q --verify "refs/heads/$base^{commit}" 2>/dev/null ||
    { [ -n "$remote" ] && git rev-parse -q --verify "refs/remotes/$remote/$base^{commit}" 2>/dev/null; }
}

# against prints the commit to compare with, if the history holds it.
against() {
  local b head
  b="$(resolve_base)" || return 1
  head="$(git rev-parse HEAD)"
  if [ "$b" = "$head" ]; then
    git rev-parse -q --verify 'HEAD~1^{commit}' 2>/dev/null
  else
    git merge-base HEAD "$b" 2>/dev/null
  fi
}

commit=""
for deepen in 0 50 500 unshallow; do
  if [ "$deepen" != 0 ]; then
    if [ "$(git rev-parse --is-shallow-repository)" != true ]; then
      break # the whole history is here: fetching more cannot help
    fi
    if [ -z "$remote" ]; then
      echo "buf breaking: shallow clone without a remote to fetch history from" >&2
      break
    fi
    echo "buf breaking: shallow clone, fetching history ($deepen)" >&2
    if [ "$deepen" = unshallow ]; then
      git fetch --quiet --no-tags --unshallow "$remote" >&2
    else
      git fetch --quiet --no-tags --deepen="$deepen" "$remote" >&2
    fi
    if ! resolve_base >/dev/null; then
      git fetch --quiet --no-tags "$remote" "+refs/heads/$base:refs/remotes/$remote/$base" >&2 || true
    fi
  fi
  if commit="$(against)" && [ -n "$commit" ]; then
    break
  fi
  commit=""
done

if [ -z "$commit" ]; then
  echo "buf breaking: no commit to compare with (base branch $base: $(resolve_base || echo missing)); set STEVEDORE_BASE_REF or fetch the history" >&2
  exit 1
fi
echo "buf breaking against $commit" >&2
"$(scripts/install-buf.sh)" breaking --against ".git#ref=$commit"

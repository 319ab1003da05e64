#!/usr/bin/env bash
# Fails when a tracked file is an executable (ELF) or is larger than 1 MB,
# unless scripts/large-files.txt names it with a reason. Build outputs
# belong in bin/ (ignored), never in git: a 16 MB binary once slipped in.
set -euo pipefail
cd "$(dirname "$0")/.."

allow=scripts/large-files.txt
limit=$((1024 * 1024))

# allowed PATH: true when the allowlist has a line "PATH  reason…" with a
# non-empty reason.
allowed() {
  [ -f "$allow" ] && awk -v p="$1" '$1 == p && NF >= 2 { found = 1 } END { exit !found }' "$allow"
}

bad=0
while IFS= read -r -d '' f; do
  [ -f "$f" ] || continue # deleted in the work tree, still in the index
  why=""
  if [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ]; then
    why="is an ELF binary"
  elif [ "$(stat -c %s "$f")" -gt "$limit" ]; then
    why="is over 1 MB ($(stat -c %s "$f") bytes)"
  fi
  if [ -n "$why" ] && ! allowed "$f"; then
    echo "$f $why; remove it, or record why it must be tracked in $allow"
    bad=1
  fi
done < <(git ls-files -z)
exit "$bad"

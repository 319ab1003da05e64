#!/usr/bin/env bash
# Static checks, in the order a newcomer would fix them: formatting, vet on
# both platforms the code is written for (linux is the box; darwin is an
# installer's laptop, so the !linux stubs must compile), staticcheck at a
# pinned version, a 32-bit arm build (catches int overflows and 64-bit
# atomics alignment that arm64 and amd64 hide), and the tree itself: no
# committed binaries, no file over 1 MB without a recorded reason.
set -euo pipefail
cd "$(dirname "$0")/.."

# The pinned staticcheck release. .ci/run installs exactly this one with
#   GOBIN=/usr/local/bin go install honnef.co/go/tools/cmd/staticcheck@v$STATICCHECK_VERSION
# It is a tool, not a module dependency: go.mod stays free of it.
STATICCHECK_VERSION=0.8.2
STATICCHECK=${STATICCHECK:-staticcheck}

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet (linux)"
GOOS=linux go vet ./...

echo "== go vet (darwin)"
GOOS=darwin go vet ./...

echo "== staticcheck $STATICCHECK_VERSION"
if ! command -v "$STATICCHECK" >/dev/null; then
  echo "staticcheck not found; install it with:"
  echo "  go install honnef.co/go/tools/cmd/staticcheck@v$STATICCHECK_VERSION"
  exit 1
fi
got=$("$STATICCHECK" -version)
case "$got" in
  *"($STATICCHECK_VERSION)"*) ;;
  *) echo "staticcheck is '$got', want $STATICCHECK_VERSION:"
     echo "  go install honnef.co/go/tools/cmd/staticcheck@v$STATICCHECK_VERSION"
     exit 1 ;;
esac
"$STATICCHECK" ./...

echo "== build linux/arm (32-bit)"
GOOS=linux GOARCH=arm go build ./...

echo "== tracked files"
scripts/check-tree.sh

#!/usr/bin/env bash
# Cross-builds and vets ownhttp for every system it supports as a server, as CI does:
#
#   scripts/crossbuild.sh                 # linux, darwin, windows, freebsd × amd64, arm64
#   scripts/crossbuild.sh darwin/arm64    # only the pairs named
#
# For each pair: `go vet ./...` (every package and its tests type-check for that system)
# and `go build` of the binary. Nothing runs: the tests run on Linux only. Stops at the
# first failure with a non-zero status.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	targets=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64 freebsd/amd64 freebsd/arm64)
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for t in "${targets[@]}"; do
	os=${t%/*} arch=${t#*/}
	start=$SECONDS
	GOOS=$os GOARCH=$arch go vet ./...
	GOOS=$os GOARCH=$arch CGO_ENABLED=0 go build -o "$out/ownhttp-$os-$arch" .
	echo "$os/$arch: vet and build ok ($((SECONDS - start))s)"
done

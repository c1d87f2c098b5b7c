#!/usr/bin/env bash
# Release archives of ownhttp: static binaries (CGO_ENABLED=0) for linux, darwin and windows on
# amd64 and arm64, each with the version stamped (-X main.version), packed with the README
# (tar.gz; zip for windows), and a SHA256SUMS file over the archives.
#
#   scripts/release.sh [OUTDIR] [VERSION]     # defaults: dist/, git describe (or "dev")
#
# Then: cd OUTDIR && sha256sum -c SHA256SUMS
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-dist}
version=${2:-$(git -c safe.directory="$PWD" describe --tags --always --dirty 2>/dev/null || echo dev)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

archives=()
for t in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64; do
	os=${t%/*} arch=${t#*/}
	name=ownhttp-$version-$os-$arch
	mkdir -p "$work/$name"
	exe=ownhttp
	[ "$os" = windows ] && exe=ownhttp.exe
	GOOS=$os GOARCH=$arch CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$version" \
		-o "$work/$name/$exe" .
	cp README.md "$work/$name/"
	if [ "$os" = windows ]; then
		(cd "$work" && zip -qr "$out/$name.zip" "$name")
		archives+=("$name.zip")
	else
		tar -C "$work" -czf "$out/$name.tar.gz" "$name"
		archives+=("$name.tar.gz")
	fi
	echo "$name: built"
done
(cd "$out" && sha256sum "${archives[@]}" > SHA256SUMS)
echo "archives and SHA256SUMS in $out (version $version)"

#!/usr/bin/env bash
# Builds ownhttp's container image from the Containerfile: the static binary is built here
# (CGO_ENABLED=0, linux, this machine's architecture unless GOARCH says otherwise) and copied
# into an image FROM scratch, so no registry is needed.
#
#   scripts/image.sh [TAG]        # default tag: ownhttp:VERSION (git describe), and ownhttp:latest
#
# Uses podman, or docker when there is no podman (BUILDER=docker picks it).
set -euo pipefail
cd "$(dirname "$0")/.."

version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
tag=${1:-ownhttp:$version}
builder=${BUILDER:-$(command -v podman >/dev/null 2>&1 && echo podman || echo docker)}

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
CGO_ENABLED=0 GOOS=linux GOARCH=${GOARCH:-$(go env GOARCH)} \
	go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$ctx/ownhttp" .
mkdir "$ctx/data"
bundle=""
for f in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/cert.pem; do
	if [ -s "$f" ]; then
		bundle=$f
		break
	fi
done
if [ -n "$bundle" ]; then
	cp "$bundle" "$ctx/ca-certificates.crt"
else
	echo "image.sh: no CA bundle on this system: the image cannot verify HTTPS targets" >&2
	: >"$ctx/ca-certificates.crt"
fi
cp Containerfile "$ctx/Containerfile"

"$builder" build --file "$ctx/Containerfile" --tag "$tag" --tag ownhttp:latest "$ctx"
echo "image.sh: built $tag with $builder"

#!/bin/sh
# Starts ownhttp in CodeCrafters mode (port 4221 unless --port is given), the way the
# CodeCrafters HTTP server course runs a solution:
#
#   ./your_program.sh [--directory DIR] [any other ownhttp flag...]
#
# Works from any working directory. It builds the server into bin/ownhttp-codecrafters in
# this repository (ignored by git) with `go build`, which relinks only when a source, go.mod
# or the toolchain changed (well under a second otherwise), then runs it from the repository
# root, so the default static/ and data/ paths are the repository's. A relative --directory
# (or OWNHTTP_DIRECTORY) is taken relative to the caller's working directory, not the
# repository's. The server replaces this shell (exec): signals reach it directly.
set -eu

caller=$(pwd)
root=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd -P)

if ! command -v go >/dev/null 2>&1; then
	PATH=/usr/local/go/bin:$PATH
	export PATH
fi
if ! command -v go >/dev/null 2>&1; then
	echo "your_program.sh: the Go toolchain (go) is not on PATH nor in /usr/local/go/bin" >&2
	exit 1
fi
# go keeps its build and module caches under HOME; some CI and container setups have none.
# Then a private directory of ours stands in for it (refused if someone else owns it).
if [ -z "${HOME:-}" ]; then
	HOME=${TMPDIR:-/tmp}/ownhttp-home-$(id -u)
	mkdir -p -m 700 "$HOME"
	if [ ! -O "$HOME" ]; then
		echo "your_program.sh: HOME is unset and $HOME belongs to another user" >&2
		exit 1
	fi
	export HOME
fi

bin=$root/bin/ownhttp-codecrafters
# -buildvcs=false: no git calls, so a clone owned by another user (CI) builds too.
(cd "$root" && go build -buildvcs=false -o "$bin" .)

# absolute P: P itself when it is absolute (or empty), else P under the caller's directory.
absolute() {
	case $1 in
	/* | '') printf '%s' "$1" ;;
	*) printf '%s/%s' "$caller" "$1" ;;
	esac
}

# Rewrite a relative --directory (all four spellings Go's flag package takes) to an absolute
# one; every other argument passes through unchanged and in order.
dir_next=false
for arg do
	shift
	if [ "$dir_next" = true ]; then
		arg=$(absolute "$arg")
		dir_next=false
	else
		case $arg in
		--directory | -directory) dir_next=true ;;
		--directory=*) arg=--directory=$(absolute "${arg#--directory=}") ;;
		-directory=*) arg=-directory=$(absolute "${arg#-directory=}") ;;
		esac
	fi
	set -- "$@" "$arg"
done
if [ -n "${OWNHTTP_DIRECTORY:-}" ]; then
	OWNHTTP_DIRECTORY=$(absolute "$OWNHTTP_DIRECTORY")
	export OWNHTTP_DIRECTORY
fi

cd "$root"
exec "$bin" --codecrafters-mode "$@"

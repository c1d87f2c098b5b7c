#!/usr/bin/env bash
# anchors.sh — ownhttp side by side with the anchor servers (nginx, Go net/http, fasthttp,
# gnet) under wrk, in one run, through ../shared/bench/run-anchors.sh.
#
#   bench/anchors.sh                       # W1–W5, pinned (server on CPU 0, wrk on CPU 1), 3 reps
#   bench/anchors.sh --workloads W2 --reps 1 --duration 5
#
# The anchors live in the workplace's shared/ folder: ../shared beside this checkout, or
# $OWNHTTP_SHARED. Every option is passed to run-anchors.sh (see its --help). ownhttp runs
# with its defaults except --access-log=false, --max-keepalive-requests 100000000 and --keepalive-timeout 300s,
# as the anchors' nginx configuration does; its state file lives in a temporary directory.
# wrk, nginx and curl are installed with apt when missing. The table (medians, server CPU
# µs per request, ratios) is printed at the end and kept in the results directory.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
shared="${OWNHTTP_SHARED:-$repo/../shared}"
[ -f "$shared/bench/run-anchors.sh" ] || {
  echo "run-anchors.sh not found under $shared/bench: run from a checkout beside the workplace's" \
    "shared/ folder, or set OWNHTTP_SHARED to that folder (OWNHTTP_SHARED=PATH/TO/shared)" >&2; exit 1; }

export PATH="/usr/local/go/bin:$PATH"
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || missing+=(nginx-light)
command -v curl >/dev/null || missing+=(curl)
command -v taskset >/dev/null || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$repo" && go build -o "$work/ownhttp" .)

cmd="$work/ownhttp --port \$PORT --access-log=false --max-keepalive-requests 100000000 --keepalive-timeout 300s"
cmd+=" --static-dir \$(dirname \$STATIC_FILE) --state-file $work/state.json"
cmd+=" --scenario-state-file $work/scenarios.json --target-state-file $work/targets.json"
bash "$shared/bench/run-anchors.sh" --extra "ownhttp=$cmd" "$@"

#!/usr/bin/env bash
# mockfiles.sh — --mocks-dir at scale: N mock files (default 10,000, one mock each) are
# generated, the server is started on them, and we measure
#   1. the start-up load: from the process start until the server is ready (--ready-file:
#      it is written once every file is loaded), then GET /api/mocks/sources must list N
#      files without error; the server's own "mock files loaded" log line gives the load alone;
#   2. GET / p99 (ownhttp bench load, keep-alive) without reloads, then while one mock file is
#      rewritten every 100 ms (each rewrite is a reload the server picks up).
#
#   bench/mockfiles.sh [--files 10000] [--duration 10]
set -euo pipefail
FILES=10000; DURATION=10
while [ $# -gt 0 ]; do
  case "$1" in
    --files) FILES="$2"; shift 2;; --duration) DURATION="$2"; shift 2;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
export PATH="/usr/local/go/bin:$PATH"
command -v curl >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null; }
work="$(mktemp -d)"
pid=""; writer=""
trap '[ -n "$writer" ] && kill $writer 2>/dev/null; [ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
(cd "$repo" && go build -o "$work/ownhttp" .)
mkdir -p "$work/mocks"
for d in $(seq 0 99); do mkdir -p "$work/mocks/d$d"; done
awk -v n="$FILES" -v dir="$work/mocks" 'BEGIN {
  for (i = 0; i < n; i++) {
    f = sprintf("%s/d%d/m%d.json", dir, i % 100, i)
    printf "{\"method\":\"GET\",\"path_pattern\":\"/bulk/%d/{id}\",\"body\":{\"n\":%d}}\n", i, i > f
    close(f)
  }
}'
start=$(date +%s.%N)
"$work/ownhttp" --port 0 --access-log=false --state-file "$work/s.json" \
  --scenario-state-file "$work/sc.json" --target-state-file "$work/t.json" \
  --ready-file "$work/ready.json" --mocks-dir "$work/mocks" 2>"$work/log" &
pid=$!
for i in $(seq 1 3000); do [ -s "$work/ready.json" ] && break; sleep 0.005; done
end=$(date +%s.%N)
base=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$work/ready.json" 2>/dev/null)
[ -n "$base" ] || { echo "the server did not become ready:" >&2; cat "$work/log" >&2; exit 1; }
n=$(curl -sf "$base/api/mocks/sources" | grep -o '"loaded_at"' | wc -l || true)
[ "$n" -ge "$FILES" ] || { echo "only $n of $FILES files loaded" >&2; exit 1; }
took=$(sed -n 's/.*msg="mock files loaded".* took=\([^ ]*\).*/\1/p' "$work/log")
echo "start-up: $FILES files loaded and served in $(echo "$end - $start" | bc) s from the process start (the load itself: $took)"
curl -sf "$base/bulk/4242/x" >/dev/null || { echo "a file mock does not answer" >&2; exit 1; }

load() { "$work/ownhttp" bench load --server "$base" --path / --concurrency 50 --duration "${DURATION}s" 2>/dev/null; }
p99() { sed -n 's/.*"p99_ms": *\([0-9.e+-]*\).*/\1/p'; }
quiet=$(load | p99)
( i=0; while :; do i=$((i+1))
    printf '{"method":"GET","path_pattern":"/bulk/7/{id}","body":{"n":7,"rev":%d}}\n' $i > "$work/mocks/d7/m7.json.tmp"
    mv "$work/mocks/d7/m7.json.tmp" "$work/mocks/d7/m7.json"; sleep 0.1; done ) &
writer=$!
busy=$(load | p99)
kill $writer; writer=""
rev=$(curl -sf "$base/bulk/7/x")
echo "GET / p99 without reloads: ${quiet} ms; while one file changes every 100 ms: ${busy} ms (last body served: $rev)"

#!/usr/bin/env bash
# store.sh — what persistence costs with a large state (issue #13): 200 API mocks of 256 KiB
# each, then the time to create one more (the answer comes once it is on disk), then 5 s of
# GET traffic against one mock (wrk, keep-alive, 50 connections) while /proc/PID/io
# write_bytes is read before and after, compared with the bytes of history lines the server
# wrote in that time (history_bytes_written_total of /_metrics; the log rotates, so its size
# does not tell).
#
#   bench/store.sh [--duration 5]
#
# The server runs with its defaults (history 500, flushed once a second) except
# --access-log=false and --max-mock-routes 202 (room for the 201st and the small mock). Linux only (/proc/PID/io).
set -euo pipefail
DURATION=5
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
export PATH="/usr/local/go/bin:$PATH"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
command -v curl >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null; }
work="$(mktemp -d)"
trap 'kill $pid 2>/dev/null && wait $pid 2>/dev/null; rm -rf "$work"' EXIT
(cd "$repo" && go build -o "$work/ownhttp" .)
"$work/ownhttp" --port 0 --access-log=false --max-mock-routes 202 --state-file "$work/s.json" \
  --scenario-state-file "$work/sc.json" --target-state-file "$work/t.json" \
  --ready-file "$work/ready.json" 2>"$work/log" &
pid=$!
for i in $(seq 1 100); do [ -s "$work/ready.json" ] && break; sleep 0.1; done
base=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$work/ready.json" 2>/dev/null)
[ -n "$base" ] || { echo "the server did not become ready:" >&2; cat "$work/log" >&2; exit 1; }
body=$(head -c 262144 /dev/zero | tr '\0' 'x') # a body of 256 KiB, the default --max-mock-body-bytes
payload() { printf '{"method":"GET","path_pattern":"/big/%s","content_type":"text/plain","body":"%s"}' "$1" "$body"; }
for i in $(seq 1 200); do payload "$i" >"$work/p.json"; curl -sf -o /dev/null -X POST "$base/api/mocks" -H 'Content-Type: application/json' --data-binary @"$work/p.json"; done
payload 201 >"$work/p.json"
t=$(curl -sf -o /dev/null -w '%{time_total}' -X POST "$base/api/mocks" -H 'Content-Type: application/json' --data-binary @"$work/p.json")
echo "create one more mock of 256 KiB with 200 stored: ${t}s"
curl -sf -o /dev/null -X POST "$base/api/mocks" -H 'Content-Type: application/json' -d '{"method":"GET","path_pattern":"/small","body":"hi"}'
sleep 2 # let the first history flush pass
wb() { awk '/^write_bytes/ {print $2}' "/proc/$pid/io"; }
hb() { curl -sf "$base/_metrics" | sed -n 's/.*"history_bytes_written_total":\([0-9]*\).*/\1/p'; }
w0=$(wb); h0=$(hb)
reqs=$(wrk -t2 -c50 -d"${DURATION}s" "$base/small" | awk '/requests in/ {print $1}')
sleep 1.5 # the last flush
w1=$(wb); h1=$(hb)
echo "GET /small for ${DURATION}s: $reqs requests; write_bytes $((w1 - w0)); history lines written $((h1 - h0)) bytes; ratio $(echo "scale=2; ($w1 - $w0) / ($h1 - $h0)" | bc) (limit 500 entries)"
echo "store size: $(du -sb "$work/s" | cut -f1) bytes"

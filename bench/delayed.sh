#!/usr/bin/env bash
# delayed.sh — issue #16: 10,000 delayed responses (1 s each) in flight on one event loop,
# and GET / beside them. The server (epoll, one loop: pinned to CPU 0 with GOMAXPROCS=1) has
# a mock /delayed with "latency": {"fixed_ms": 1000}; `ownhttp bench load` on CPU 1 keeps
# 10,000 keep-alive connections each waiting on one, while a second one measures GET / on
# one connection, first alone and then beside them. Reported: GET /'s p50 and p99 both
# times, the server's CPU (share of its core) and resident memory while the 10,000 wait,
# and what the delayed clients saw (requests per second, p50/p99 ≈ 1000 ms).
#
#   bench/delayed.sh [--duration 10] [--connections 10000]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
conns=10000
args=()
while [ $# -gt 0 ]; do
  case "$1" in --connections) conns="$2"; shift 2;; *) args+=("$1"); shift;; esac
done
DURATION=10
bench_parse "" "${args[@]+"${args[@]}"}"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -gt $((conns + 1000)) ] || { echo "open-files limit $(ulimit -n) is too low for $conns connections" >&2; exit 1; }
bench_start
mk '{"id":"delayed","method":"GET","path_pattern":"/delayed","body":"late","latency":{"fixed_ms":1000}}'
load() { taskset -c 1 "$work/ownhttp" bench load --server "$base" "$@"; }
field() { sed -n "s/.*\"$1\": *\([0-9.e+-]*\).*/\1/p" "$2" | head -1; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }

rss_idle=$(rss_kb)
load --path / --concurrency 1 --duration "${DURATION}s" >"$work/idle.json"
load --path /delayed --concurrency "$conns" --timeout 5s --warmup 3s --duration "$((DURATION + 2))s" >"$work/delayed.json" &
bg=$!
sleep 4 # the delayed clients are connected and waiting
c0=$(cpu_ticks); t0=$(date +%s.%N); rss_peak=0
( while kill -0 "$bg" 2>/dev/null; do r=$(rss_kb); echo "$r"; sleep 0.5; done ) >"$work/rss" &
sampler=$!
load --path / --concurrency 1 --duration "${DURATION}s" >"$work/busy.json"
c1=$(cpu_ticks); t1=$(date +%s.%N)
wait "$bg"; kill "$sampler" 2>/dev/null || true
rss_peak=$(sort -n "$work/rss" | tail -1)
cpu_pct=$(awk -v c="$((c1 - c0))" -v hz="$HZ" -v t="$(echo "$t1 - $t0" | bc -l)" 'BEGIN {printf "%.0f", c / hz / t * 100}')

printf '\n%-44s %10s %10s\n' "" "p50 ms" "p99 ms"
printf '%-44s %10s %10s\n' "GET /, alone" "$(field p50_ms "$work/idle.json")" "$(field p99_ms "$work/idle.json")"
printf '%-44s %10s %10s\n' "GET /, beside $conns delayed responses" "$(field p50_ms "$work/busy.json")" "$(field p99_ms "$work/busy.json")"
printf '%-44s %10s %10s\n' "/delayed (fixed_ms 1000), $conns connections" "$(field p50_ms "$work/delayed.json")" "$(field p99_ms "$work/delayed.json")"
printf '\ndelayed responses: %s req/s, %s errors\n' "$(field rps "$work/delayed.json")" "$(field errors "$work/delayed.json")"
printf 'server while they wait: %s%% of its core, RSS %d MiB (idle before: %d MiB)\n' \
  "$cpu_pct" "$((rss_peak / 1024))" "$((rss_idle / 1024))"

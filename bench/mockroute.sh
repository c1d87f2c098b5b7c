#!/usr/bin/env bash
# mockroute.sh — GET on a mock route with 200 mocks defined, against GET /, on the epoll
# engine, in one run: the server pinned to CPU 0 with GOMAXPROCS=1, wrk on CPU 1, pipelined
# (depth 16, 256 connections) and keep-alive (100 connections), medians of --reps runs.
#
#   bench/mockroute.sh [--reps 3] [--duration 5] [--criteria]
#
# The 200 mocks mix exact paths, {param} patterns and wildcards; the measured mock is a
# {param} pattern (/bench/{id}/item/{n}), matched after 100 exact mocks and before the
# wildcards, so the lookup walks the real precedence order.
#
# --criteria (issue #14): 1,000 mocks of mixed criteria instead: 100 exact paths with a query
# criterion, 699 {param} patterns with a header criterion, and on the measured pattern
# /bench/{id}/item/{n} 200 mocks asking a query parameter and a header, 199 of them (older,
# so tried first) for other values of the parameter; every request, GET / included, carries
# the header X-Tenant: acme, and the mock one the query v=1. The server runs with its
# defaults (history capture, live events and metrics on) except --access-log=false,
# --max-mock-routes 1000 (room for --criteria),
# --max-keepalive-requests 100000000 and --keepalive-timeout 300s.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_parse "--criteria" "$@"
bench_start
mocked=/bench/42/item/7; want=200; hdr=()
if [ "${FLAG[criteria]:-}" = true ]; then
  for i in $(seq 1 100); do mk "{\"method\":\"GET\",\"path_pattern\":\"/exact/$i\",\"body\":\"e$i\",\"match\":{\"query\":{\"q\":\"$i\"}}}"; done
  for i in $(seq 1 699); do mk "{\"method\":\"GET\",\"path_pattern\":\"/p$i/{id}/item/{n}\",\"body\":\"p$i\",\"match\":{\"headers\":{\"X-Tenant\":\"t$i\"}}}"; done
  for i in $(seq 2 200); do mk "{\"method\":\"GET\",\"path_pattern\":\"/bench/{id}/item/{n}\",\"body\":\"b$i\",\"match\":{\"query\":{\"v\":\"$i\"},\"headers\":{\"X-Tenant\":\"acme\"}}}"; done
  mk '{"method":"GET","path_pattern":"/bench/{id}/item/{n}","body":"Hello World","content_type":"text/plain","match":{"query":{"v":"1"},"headers":{"X-Tenant":"acme"}}}'
  mk '{"method":"GET","path_pattern":"/wild/*","body":"w"}'
  mocked="/bench/42/item/7?v=1"; want=1000; hdr=(-H "X-Tenant: acme")
else
  for i in $(seq 1 100); do mk "{\"method\":\"GET\",\"path_pattern\":\"/exact/$i\",\"body\":\"e$i\"}"; done
  for i in $(seq 1 98); do mk "{\"method\":\"GET\",\"path_pattern\":\"/p$i/{id}/item/{n}\",\"body\":\"p$i\"}"; done
  mk '{"method":"GET","path_pattern":"/bench/{id}/item/{n}","body":"Hello World","content_type":"text/plain"}'
  mk '{"method":"GET","path_pattern":"/wild/*","body":"w"}'
fi
count=$(curl -sf "$base/api/mocks" | grep -o '"id"' | wc -l)
[ "$count" -eq "$want" ] || { echo "expected $want mocks, got $count" >&2; exit 1; }
[ "$(curl -sf "${hdr[@]}" "$base$mocked")" = "Hello World" ] || { echo "the measured mock does not answer $mocked" >&2; exit 1; }
declare -A res
for _ in $(seq 1 "$REPS"); do
  for path in / "$mocked"; do
    res["W2 $path"]+="$(rps -t1 -c256 -d"${DURATION}s" "${hdr[@]}" -s "$work/pipe.lua" "$base$path" -- "$path")"$'\n'
    res["W1 $path"]+="$(rps -t1 -c100 -d"${DURATION}s" "${hdr[@]}" "$base$path")"$'\n'
  done
done
echo "| workload | GET / req/s | GET mock req/s ($want mocks) | ratio |"
echo "|---|---|---|---|"
for w in W2 W1; do
  a=$(printf '%s' "${res["$w /"]}" | median); b=$(printf '%s' "${res["$w $mocked"]}" | median)
  printf '| %s | %.0f | %.0f | %.2f |\n' "$w" "$a" "$b" "$(echo "$b / $a" | bc -l)"
done

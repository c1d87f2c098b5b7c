#!/usr/bin/env bash
# mocktemplate.sh — what a template and a sequence cost a mock (issue #15), side by side in
# one run on the epoll engine: the server pinned to CPU 0 with GOMAXPROCS=1, wrk on CPU 1,
# pipelined (W2: depth 16, 256 connections) and keep-alive (W1: 100 connections), medians
# of --reps runs of --duration seconds. For each run: req/s, and the server's CPU per
# request (its utime+stime from /proc over the run, divided by the responses wrk counted).
#
#   bench/mocktemplate.sh [--reps 3] [--duration 5] [--template] [--sequence]   # neither: both
#
# --template: POST /plain/42/orders?page=3 and POST /templ/42/orders?page=3, each with the
# header X-Tenant: acme and the same 1 KiB JSON body ("name" its last member), to two mocks
# that differ only in "template": true: the body
#   {"user":"{{request.path.id}}","page":"{{request.query.page}}",
#    "tenant":"{{request.headers.X-Tenant}}","name":"{{jsonPath request.body '$.name'}}",…}
# is rendered by one and sent as it is by the other. Target: templated CPU per request at
# most 2× untemplated.
# --sequence: GET /plain/7 (body "Hello World") and GET /loop4/7, a sequence of four
# responses of the same size with "after_last": "loop". Target: ≥ 0.8 of the plain rate.
#
# The server runs as bench/lib.sh says (its defaults, history and live events on); these
# four mocks are the only ones defined.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_parse "--template --sequence" "$@"
[ ${#FLAG[@]} -gt 0 ] || FLAG=([template]=true [sequence]=true)
bench_start

# The 1 KiB request body: 24 order lines, then the name the template's jsonPath picks.
body='{"order":"ord-2026-12-06-0001","currency":"EUR","items":['
for i in $(seq -w 1 24); do body+="{\"sku\":\"SKU-00$i\",\"qty\":$((10#$i % 5 + 1)),\"price\":$((10#$i * 3)).99},"; done
body="${body%,}],\"note\":\"leave at the door\",\"name\":\"Ada Lovelace\"}"
tmpl='{"user":"{{request.path.id}}","page":"{{request.query.page}}","tenant":"{{request.headers.X-Tenant}}","name":"{{jsonPath request.body '"'"'$.name'"'"'}}","status":"accepted"}'
mk "{\"method\":\"POST\",\"path_pattern\":\"/plain/{id}/orders\",\"body\":$tmpl}"
mk "{\"method\":\"POST\",\"path_pattern\":\"/templ/{id}/orders\",\"template\":true,\"body\":$tmpl}"
mk '{"method":"GET","path_pattern":"/plain/{id}","body":"Hello World","content_type":"text/plain"}'
mk '{"method":"GET","path_pattern":"/loop4/{id}","after_last":"loop","responses":[
  {"body":"Hello Wor 1","content_type":"text/plain"},{"body":"Hello Wor 2","content_type":"text/plain"},
  {"body":"Hello Wor 3","content_type":"text/plain"},{"body":"Hello Wor 4","content_type":"text/plain"}]}'

post() { curl -sf -X POST -H 'Content-Type: application/json' -H 'X-Tenant: acme' --data-binary "$body" "$base$1"; }
want='{"user":"42","page":"3","tenant":"acme","name":"Ada Lovelace","status":"accepted"}'
[ "$(post '/templ/42/orders?page=3')" = "$want" ] || { echo "the templated mock answers $(post '/templ/42/orders?page=3'), not $want" >&2; exit 1; }
post '/plain/42/orders?page=3' | grep -q 'request.path.id' || { echo "the untemplated mock does not send its text as it is" >&2; exit 1; }
for i in 1 2 3 4; do
  [ "$(curl -sf "$base/loop4/7")" = "Hello Wor $i" ] || { echo "the sequence does not answer Hello Wor $i" >&2; exit 1; }
done
[ "$(curl -sf "$base/plain/7")" = "Hello World" ] || { echo "the plain mock does not answer" >&2; exit 1; }
echo "request body: ${#body} bytes; templated answer: $want" >&2

{ echo 'wrk.method = "POST"'; echo 'wrk.headers["Content-Type"] = "application/json"'
  echo 'wrk.headers["X-Tenant"] = "acme"'; echo "wrk.body = [==[$body]==]"; } > "$work/post.lua"
cat "$work/post.lua" "$work/pipe.lua" > "$work/post-pipe.lua"

declare -A res
measure() { # measure PATH SCRIPT-PREFIX: one W2 and one W1 run on PATH
  local path=$1 s=$2
  res["W2 $path"]+="$(run_wrk -t1 -c256 -d"${DURATION}s" -s "$work/${s}pipe.lua" "$base$path" -- "$path")"$'\n'
  res["W1 $path"]+="$(run_wrk -t1 -c100 -d"${DURATION}s" ${s:+-s "$work/post.lua"} "$base$path")"$'\n'
}
field() { printf '%s' "${res["$1"]}" | awk -v f="$2" '{print $f}' | median; }
table() { # table NAME-A NAME-B PATH-A PATH-B
  echo "| workload | $1 req/s | $2 req/s | ratio | $1 µs/req | $2 µs/req | CPU ratio |"
  echo "|---|---|---|---|---|---|---|"
  local w ra rb ca cb
  for w in W2 W1; do
    ra=$(field "$w $3" 1); rb=$(field "$w $4" 1); ca=$(field "$w $3" 2); cb=$(field "$w $4" 2)
    printf '| %s | %.0f | %.0f | %.2f | %.3f | %.3f | %.2f |\n' "$w" "$ra" "$rb" \
      "$(echo "$rb / $ra" | bc -l)" "$ca" "$cb" "$(echo "$cb / $ca" | bc -l)"
  done
}
for _ in $(seq 1 "$REPS"); do
  if [ "${FLAG[template]:-}" = true ]; then
    measure '/plain/42/orders?page=3' post-; measure '/templ/42/orders?page=3' post-
  fi
  if [ "${FLAG[sequence]:-}" = true ]; then measure /plain/7 ''; measure /loop4/7 ''; fi
done
if [ "${FLAG[template]:-}" = true ]; then
  echo "Template (POST, 1 KiB body; target: CPU ratio ≤ 2):"
  table untemplated templated '/plain/42/orders?page=3' '/templ/42/orders?page=3'
fi
if [ "${FLAG[sequence]:-}" = true ]; then
  echo "Sequence (GET, 4 responses, loop; target: ratio ≥ 0.8):"
  table plain sequence /plain/7 /loop4/7
fi

# shellcheck shell=bash disable=SC2034 # REPS, DURATION and FLAG are read by the scripts sourcing this
# lib.sh — sourced (not run) by the bench scripts that measure one ownhttp on the epoll
# engine pinned to CPU 0 with GOMAXPROCS=1 under wrk pinned to CPU 1 (mockroute.sh,
# mocktemplate.sh).
#
#   bench_parse "--flag …" "$@"  --reps N (3) and --duration S (5) into REPS and DURATION;
#                                each allowed --flag given sets FLAG[flag]=true; others exit 2
#   bench_start                  installs wrk and curl (apt) if missing, builds the server, starts
#                                it and waits until it serves; sets work, pid, base. The EXIT
#                                trap kills it, waits for it and removes $work.
#   mk JSON                      creates a mock (POST /api/mocks); fails the script on an error
#   run_wrk WRK-ARGS…            waits until the machine is quiet, runs wrk on CPU 1, prints
#                                "req/s server-µs-per-request" (the server's utime+stime from
#                                /proc over the run, divided by the responses wrk counted)
#   rps WRK-ARGS…                the req/s of run_wrk alone
#   median                       the median of the numbers on stdin, one a line
#   $work/pipe.lua               wrk script sending 16 requests per write; its argument is the
#                                path (method, headers and body: wrk.method, wrk.headers, wrk.body)
#
# The server runs with its defaults (history capture, live events and metrics on) except
# --access-log=false, --max-mock-routes 1000, --max-keepalive-requests 100000000 and
# --keepalive-timeout 300s; its state files live in $work.

REPS=3; DURATION=5; declare -A FLAG=()
bench_parse() {
  local allowed=" $1 "; shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --reps) REPS="$2"; shift 2;; --duration) DURATION="$2"; shift 2;;
      *) [[ "$allowed" == *" $1 "* ]] || { echo "unknown option $1" >&2; exit 2; }
         FLAG[${1#--}]=true; shift;;
    esac
  done
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
export PATH="/usr/local/go/bin:$PATH"
HZ=$(getconf CLK_TCK)
pid=""; work=""; base=""

bench_start() {
  command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
  command -v curl >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null; }
  work="$(mktemp -d)"
  trap 'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi; rm -rf "$work"' EXIT
  (cd "$repo" && go build -o "$work/ownhttp" .)
  taskset -c 0 env GOMAXPROCS=1 "$work/ownhttp" --port 0 --access-log=false --max-mock-routes 1000 \
    --max-keepalive-requests 100000000 --keepalive-timeout 300s --state-file "$work/s.json" \
    --scenario-state-file "$work/sc.json" --target-state-file "$work/t.json" \
    --ready-file "$work/ready.json" 2>"$work/log" &
  pid=$!
  # The server writes the ready file (atomically) once it serves; it names the bound URL.
  local i
  for i in $(seq 1 100); do [ -s "$work/ready.json" ] && break; sleep 0.1; done
  base=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$work/ready.json" 2>/dev/null)
  [ -n "$base" ] || { echo "the server did not become ready:" >&2; cat "$work/log" >&2; exit 1; }
  cat > "$work/pipe.lua" <<'LUA'
init = function(args)
  local r = {}
  for i = 1, 16 do r[i] = wrk.format(nil, args[1]) end
  req = table.concat(r)
end
request = function() return req end
LUA
}

mk() { curl -sf -o /dev/null -X POST "$base/api/mocks" -H 'Content-Type: application/json' -d "$1"; }

busy_ticks() { awk '/^cpu /{print $2+$3+$4; exit}' /proc/stat; }   # user+nice+system, all CPUs
cpu_ticks() { sed 's/.*) //' "/proc/$pid/stat" | awk '{print $12+$13}'; }  # the server's utime+stime
# Other processes may share the machine: before each run wait (up to 60 s) until everything
# but our server uses less than 15% of a core, and say so on stderr when we had to; after
# it, warn when others used more than 10% of a core during it (busy time minus server and
# wrk).
others_pct() { # others_pct BUSY-TICKS SERVER-TICKS WRK-SECONDS SECONDS
  awk -v b="$1" -v c="$2" -v w="$3" -v t="$4" -v hz="$HZ" 'BEGIN {o=(b-c)/hz-w; if (o<0) o=0; printf "%d", o/t*100}'; }
wait_quiet() {
  local i b0 b1 c0 c1 pct
  for i in $(seq 1 60); do
    b0=$(busy_ticks); c0=$(cpu_ticks); sleep 1; b1=$(busy_ticks); c1=$(cpu_ticks)
    pct=$(others_pct $((b1 - b0)) $((c1 - c0)) 0 1)
    if [ "$pct" -lt 15 ]; then [ "$i" -eq 1 ] || echo "  quiet after $i s" >&2; return 0; fi
    [ "$i" -gt 1 ] || echo "  machine busy (${pct}% of a core used by others), waiting up to 60 s" >&2
  done
  echo "  machine still busy after 60 s, measuring anyway" >&2
}

run_wrk() {
  local out b0 b1 c0 c1 t0 t1 wrkcpu others
  wait_quiet
  b0=$(busy_ticks); c0=$(cpu_ticks); t0=$(date +%s.%N)
  out=$( { TIMEFORMAT='%3U %3S'; time taskset -c 1 wrk "$@" >"$work/wrk.out" 2>"$work/wrk.err"; } 2>&1 )
  b1=$(busy_ticks); c1=$(cpu_ticks); t1=$(date +%s.%N)
  wrkcpu=$(awk '{print $1 + $2}' <<<"$out"); out=$(<"$work/wrk.out")
  others=$(others_pct $((b1 - b0)) $((c1 - c0)) "$wrkcpu" "$(echo "$t1 - $t0" | bc -l)")
  [ "$others" -lt 10 ] || echo "  others used ${others}% of a core during: wrk $*" >&2
  if grep -q 'Non-2xx' <<<"$out"; then echo "wrk $*: answers that are not 2xx:" >&2; echo "$out" >&2; exit 1; fi
  awk -v c="$((c1 - c0))" -v hz="$HZ" '/requests in/ {n=$1} /Requests\/sec/ {r=$2}
    END {printf "%s %.3f\n", r, c / hz * 1e6 / n}' <<<"$out"
}
rps() { run_wrk "$@" | awk '{print $1}'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

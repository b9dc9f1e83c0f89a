#!/usr/bin/env bash
# A CPU profile of one proxy under wrk, to compare two of them per request
# (bench/scripts/profile-diff.mjs). Not part of `npm run bench`: profiles say where the time
# goes, the bench says how much there is. Run on a quiet machine, from the repository root.
#
#   bash bench/scripts/profile-target.sh NAME TARGET [bare]
#
# TARGET: a dist/ folder (switchyard; `bare` turns the access log and request metrics off),
# `pool` (bench/proxies/pool-dispatch.mjs) or `memory` (bench/proxies/node-memory.mjs, the
# answer of /cacheable; with FILE set, that file's bytes as switchyard's static route sends
# them). The proxy runs alone on CPU 1; wrk and two backends
# (bench/backends/http.mjs) on CPU 0. Writes $OUT/NAME/*.cpuprofile and $OUT/NAME/reqs.
# Env: OUT (default /tmp/switchyard-profiles), CONNS (50), DUR (8 s), URLPATH (/),
# EXTRA (YAML appended to switchyard's config: a cache, a route), PORT_BASE (9500).
set -euo pipefail
NAME=$1; TARGET=$2; BARE=${3:-}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-/tmp/switchyard-profiles}; BASE=${PORT_BASE:-9500}
B1P=$((BASE + 1)); B2P=$((BASE + 2)); PORT=$((BASE + 10))
mkdir -p "$OUT/$NAME"; rm -f "$OUT/$NAME"/*
D=$(mktemp -d)
taskset -c 0 node "$ROOT/bench/backends/http.mjs" $B1P & B1=$!
taskset -c 0 node "$ROOT/bench/backends/http.mjs" $B2P & B2=$!
trap 'kill $B1 $B2 2>/dev/null || true' EXIT
if [ "$BARE" = bare ]; then ON=false; else ON=true; fi
cat > "$D/c.yaml" <<Y
listeners: [{address: 127.0.0.1, port: $PORT}]
admin: {port: 0, request_metrics: $ON}
log: {level: info, access_log: $ON}
upstreams:
  app:
    servers: [{url: "http://127.0.0.1:$B1P"}, {url: "http://127.0.0.1:$B2P"}]
    health_check: {path: /, interval: 2s}
${EXTRA:-}
Y
for i in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$B1P/" && break; sleep 0.1; done
PROF=(--cpu-prof --cpu-prof-dir="$OUT/$NAME")
case $TARGET in
  pool) PORT=$PORT BACKENDS=http://127.0.0.1:$B1P,http://127.0.0.1:$B2P taskset -c 1 node "${PROF[@]}" "$ROOT/bench/proxies/pool-dispatch.mjs" & P=$! ;;
  memory) PORT=$PORT BACKENDS=http://127.0.0.1:$B1P FETCH_PATH=/cacheable ANSWER=${FILE:+proxy} taskset -c 1 node "${PROF[@]}" "$ROOT/bench/proxies/node-memory.mjs" & P=$! ;;
  *) taskset -c 1 node "${PROF[@]}" "$TARGET/cli.js" --config "$D/c.yaml" > /dev/null 2> "$D/err" & P=$! ;;
esac
for i in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
out=$(taskset -c 0 wrk -t1 -c"${CONNS:-50}" -d"${DUR:-8}"s "http://127.0.0.1:$PORT${URLPATH:-/}")
reqs=$(echo "$out" | awk '/requests in/ {print $1}')
echo "$reqs" > "$OUT/$NAME/reqs"
echo "$NAME: $reqs requests, $(echo "$out" | awk '/Requests\/sec/ {print $2}') req/s (under the profiler)"
kill -TERM $P; wait $P 2>/dev/null || true

#!/usr/bin/env bash
# Gateway load benchmark (not a test). One invocation, interleaved round by round:
#   direct   wrk -> nginx (zero-latency upstream, one worker, fixed chat completion with usage)
#   yarp     wrk -> bare YARP reverse proxy (one route, logging off) -> nginx   (the floor for a .NET proxy)
#   gateway  wrk -> platform (API-key auth, model routing, OpenAI SDK upstream call, cost accounting) -> nginx
#   budgeted the same gateway, with a key of a tenant whose tenant and key budgets are set (reserve + settle per request)
#   bare     a second gateway process with the request log and telemetry off (the gateway target has both on: every
#            request logged to DuckDB, every trace and metric exported over OTLP/HTTP to an nginx sink, /metrics on)
# Concurrency 1, 8 and 32; ROUNDS rounds (default 3) of DURATION (default 5s); medians of req/s, p50, p99.
# A run with any non-2xx response is reported invalid. Also reports the gateway's peak RSS (VmHWM), and the CPU
# time yarp and the gateway spent per request (utime+stime from /proc/<pid>/stat over each measured run).
# --stream: the same three targets, streamed: nginx answers 40 chat.completion.chunk events, a finish chunk, a usage
# chunk and [DONE] (about 10 KB of server-sent events); wrk posts "stream":true with include_usage (stream.lua).
# usage: deploy/bench/run.sh [--rounds N] [--duration 5s] [--stream]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=3; DURATION=5s; STREAM=0
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --stream) STREAM=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

command -v wrk >/dev/null && command -v nginx >/dev/null || {
  echo "Installing wrk and nginx-light (Debian)..."
  apt-get update -qq && apt-get install -y -qq wrk nginx-light >/dev/null
}

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; cp "$work/gateway.log" /tmp/bench-gateway.log 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null \
  || node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_http() { for _ in $(seq 1 150); do curl -s -o /dev/null "$1" && return 0; sleep 0.2; done; echo "not answering: $1" >&2; return 1; }

echo "Building (Release)..."
dotnet publish src/Platform.Silo -c Release -o "$work/gateway" --nologo -v q -clp:ErrorsOnly >/dev/null
dotnet publish deploy/bench/YarpBaseline -c Release -o "$work/yarp" --nologo -v q -clp:ErrorsOnly >/dev/null

NGINX_PORT=$(free_port); YARP_PORT=$(free_port); GW_PORT=$(free_port); BARE_PORT=$(free_port)
mkdir -p "$work/nginx"
sed -e "s#__DIR__#$work/nginx#g" -e "s#__PORT__#$NGINX_PORT#g" deploy/bench/nginx.conf.template > "$work/nginx/nginx.conf"
# The streamed answer nginx serves under /stream/: a role chunk, 39 more content chunks, finish, usage, [DONE].
{
  chunk='data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench-upstream","system_fingerprint":"fp_bench",'
  printf '%s"choices":[{"index":0,"delta":{"role":"assistant","content":"Tok00"},"logprobs":null,"finish_reason":null}]}\n\n' "$chunk"
  for i in $(seq 1 39); do
    printf '%s"choices":[{"index":0,"delta":{"content":" tok%02d"},"logprobs":null,"finish_reason":null}]}\n\n' "$chunk" "$i"
  done
  printf '%s"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n\n' "$chunk"
  printf '%s"choices":[],"usage":{"prompt_tokens":21,"completion_tokens":40,"total_tokens":61}}\n\n' "$chunk"
  printf 'data: [DONE]\n\n'
} > "$work/nginx/stream.sse"
chmod o+x "$work" "$work/nginx" && chmod o+r "$work/nginx/stream.sse"  # nginx's worker runs as nobody
nginx -c "$work/nginx/nginx.conf" & pids+=($!)

(cd "$work/yarp" && exec dotnet YarpBaseline.dll --urls "http://127.0.0.1:$YARP_PORT" --upstream "http://127.0.0.1:$NGINX_PORT") >/dev/null 2>&1 & YARP_PID=$!
pids+=($YARP_PID)

export BENCH_KEY="bench-client-key-0123456789abcdef0123456789"
# start_gateway <port> <data dir> <extra args...>: a gateway process with the benchmark's routes.
start_gateway() {
  local port=$1 data=$2; shift 2
  cd "$work/gateway" && exec env ${GATEWAY_ENV:-} ${PERF:+DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0} dotnet Platform.Silo.dll --urls "http://127.0.0.1:$port" \
    --Platform:DataDirectory="$data" \
    --Platform:Cluster:SiloPort="$(free_port)" \
    --Platform:Bootstrap:AdminKey="bench-admin-key-0123456789abcdef0123456789" \
    --Platform:Bootstrap:DemoClientKey="$BENCH_KEY" \
    --Platform:Models:9:Name=bench --Platform:Models:9:Provider=openai \
    --Platform:Models:9:Endpoint="http://127.0.0.1:$NGINX_PORT/v1" --Platform:Models:9:UpstreamModel=gpt-4o-mini \
    --Platform:Models:9:MaxRetries=0 \
    --Platform:Models:8:Name=bench-stream --Platform:Models:8:Provider=openai \
    --Platform:Models:8:Endpoint="http://127.0.0.1:$NGINX_PORT/stream/v1" --Platform:Models:8:UpstreamModel=gpt-4o-mini \
    --Platform:Models:8:MaxRetries=0 \
    --Logging:LogLevel:Default=Warning "$@"
}
# OBSERVE: what the gateway target has on (the bare target has none of it). all (default): the request log, traces and
# metrics exported over OTLP/HTTP to an nginx sink, and /metrics; log: the request log only; otel: telemetry only.
# OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG pass through (default: every trace).
OBSERVE=${OBSERVE:-all}
otlp=(); gw_args=()
case "$OBSERVE" in
  all) otlp=(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$NGINX_PORT/otlp" OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf); gw_args=(--Platform:Telemetry:Prometheus=true) ;;
  log) ;;
  otel) otlp=(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$NGINX_PORT/otlp" OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf); gw_args=(--Platform:Telemetry:Prometheus=true --Platform:RequestLog:Enabled=false) ;;
  *) echo "OBSERVE must be all, log or otel" >&2; exit 2 ;;
esac
([ ${#otlp[@]} -eq 0 ] || export "${otlp[@]}"; start_gateway "$GW_PORT" "$work/data" "${gw_args[@]}") >"$work/gateway.log" 2>&1 & GW_PID=$!; pids+=($GW_PID)
start_gateway "$BARE_PORT" "$work/data-bare" --Platform:RequestLog:Enabled=false >"$work/bare.log" 2>&1 & BARE_PID=$!; pids+=($BARE_PID)

wait_http "http://127.0.0.1:$NGINX_PORT/"
wait_http "http://127.0.0.1:$YARP_PORT/"
wait_http "http://127.0.0.1:$GW_PORT/health/ready"
wait_http "http://127.0.0.1:$BARE_PORT/health/ready"
GW_DOTNET_PID=$GW_PID

# Streamed requests go to nginx's /stream/ location: through YARP by path, through the gateway by the model
# route bench-stream, whose endpoint is that location.
prefix=""; SCRIPT=deploy/bench/post.lua; UNIT=req; RATE=req/s; CHECK='{"model":"bench","messages":[{"role":"user","content":"hi"}]}'
if [ "$STREAM" = 1 ]; then
  prefix=/stream; SCRIPT=deploy/bench/stream.lua; UNIT=stream; RATE=streams/s
  CHECK='{"model":"bench-stream","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}'
fi
declare -A URL=( [direct]="http://127.0.0.1:$NGINX_PORT$prefix/v1/chat/completions"
                 [yarp]="http://127.0.0.1:$YARP_PORT$prefix/v1/chat/completions"
                 [gateway]="http://127.0.0.1:$GW_PORT/v1/chat/completions"
                 [bare]="http://127.0.0.1:$BARE_PORT/v1/chat/completions" )
declare -A PID=( [direct]="" [yarp]="$YARP_PID" [gateway]="$GW_PID" [budgeted]="$GW_PID" [bare]="$BARE_PID" )
read -r -a TARGETS <<<"${BENCH_TARGETS:-direct yarp gateway bare budgeted}"; read -r -a CONNS <<<"${BENCH_CONNS:-1 8 32}"

# A second tenant whose tenant and key scopes have budgets (large enough never to refuse): every request reserves on both.
ADMIN="bench-admin-key-0123456789abcdef0123456789"
api() { curl -sf -X "$1" "http://127.0.0.1:$GW_PORT$2" -H "Authorization: Bearer $3" -H "Content-Type: application/json" ${4:+-d "$4"}; }
api POST /api/v1/tenants "$ADMIN" '{"id":"budgeted","displayName":"Budgeted"}' >/dev/null
json_field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);console.log(eval("j."+process.argv[1]))})' "$1"; }
OWNER=$(api POST /api/v1/tenants/budgeted/keys "$ADMIN" '{"name":"owner","role":"owner"}' | json_field secret)
BUDGET_CREATED=$(api POST /api/v1/tenants/budgeted/keys "$ADMIN" '{"name":"client","role":"client"}')
BUDGET_KEY=$(json_field secret <<<"$BUDGET_CREATED"); BUDGET_KEY_ID=$(json_field key.id <<<"$BUDGET_CREATED")
api PUT /api/v1/budgets/tenant/budgeted "$OWNER" '{"limits":[{"metric":"usd","amount":1000000,"window":"day"},{"metric":"requests","amount":1000000000,"window":"minute"}]}' >/dev/null
api PUT "/api/v1/budgets/key/$BUDGET_KEY_ID" "$OWNER" '{"limits":[{"metric":"tokens","amount":1000000000000,"window":"month"}]}' >/dev/null
URL[budgeted]="${URL[gateway]}"
declare -A KEY=( [direct]="$BENCH_KEY" [yarp]="$BENCH_KEY" [gateway]="$BENCH_KEY" [budgeted]="$BUDGET_KEY" [bare]="$BENCH_KEY" )

# A request through each target must succeed before measuring (a stream: end with [DONE], after a usage chunk).
for t in "${TARGETS[@]}"; do
  code=$(curl -s -o "$work/check.json" -w '%{http_code}' -X POST "${URL[$t]}" -H "Content-Type: application/json" \
    -H "Authorization: Bearer ${KEY[$t]}" -d "$CHECK")
  [ "$code" = 200 ] || { echo "$t answered $code: $(cat "$work/check.json")"; exit 1; }
  if [ "$STREAM" = 1 ]; then
    grep -q '"usage":{"prompt_tokens":21,"completion_tokens":40' "$work/check.json" && [ "$(tail -n 2 "$work/check.json")" = "data: [DONE]" ] \
      || { echo "$t: the stream did not end with usage and [DONE]: $(tail -c 600 "$work/check.json")"; exit 1; }
  fi
done

# CPU time of a process (user + system) in microseconds.
cpu_us() { [ -n "$1" ] && awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.0f", ($12 + $13) * 1000000 / hz }' "/proc/$1/stat" || echo 0; }

to_ms() { awk -v v="$1" 'BEGIN { n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /ms$/) n=n; else if (v ~ /s$/) n*=1000; printf "%.3f", n }'; }
echo "Warming up..."
for t in "${TARGETS[@]}"; do BENCH_KEY="${KEY[$t]}" wrk -t2 -c32 -d"${WARMUP:-3s}" -s "$SCRIPT" "${URL[$t]}" >/dev/null; done

# TRACE=<target>: a CPU sample trace of the gateway under that target at 32 connections, for where the time goes.
if [ -n "${TRACE:-}" ]; then
  BENCH_KEY="${KEY[$TRACE]}" wrk -t2 -c32 -d12s -s "$SCRIPT" "${URL[$TRACE]}" >/dev/null & wrk_pid=$!
  sleep 2
  dotnet-trace collect -p "$GW_DOTNET_PID" --profile dotnet-sampled-thread-time --duration 00:00:00:08 -o "/tmp/bench-$TRACE.nettrace" >/dev/null
  wait "$wrk_pid"
  dotnet-trace report "/tmp/bench-$TRACE.nettrace" topN -n 60 --inclusive > "/tmp/bench-$TRACE-inclusive.txt" 2>&1 || true
  dotnet-trace report "/tmp/bench-$TRACE.nettrace" topN -n 60 > "/tmp/bench-$TRACE-exclusive.txt" 2>&1 || true
  echo "trace: /tmp/bench-$TRACE.nettrace, /tmp/bench-$TRACE-{inclusive,exclusive}.txt"
fi

# PERF=<targets>: perf's CPU samples of the gateway under each named target in turn at 32 connections (the runtime writes
# its JIT symbols to /tmp/perf-<pid>.map with DOTNET_PerfMapEnabled=1, and W^X off so perf can match them; this sets both).
# The requests served while sampling go to /tmp/bench-<target>-perf-wrk.txt, to compare samples per request.
for p in ${PERF:-}; do
  BENCH_KEY="${KEY[$p]}" wrk -t2 -c32 -d12s -s "$SCRIPT" "${URL[$p]}" > "/tmp/bench-$p-perf-wrk.txt" & wrk_pid=$!
  sleep 2
  perf record -F 1999 -g -p "${PID[$p]}" -o "/tmp/bench-$p.perf" -- sleep 8 >/dev/null 2>&1
  wait "$wrk_pid"
  perf report -i "/tmp/bench-$p.perf" --no-children --sort symbol --stdio 2>/dev/null | grep -v '^$' | head -400 > "/tmp/bench-$p-perf.txt" || true
  perf report -i "/tmp/bench-$p.perf" --children --sort symbol --stdio -g none 2>/dev/null | grep '%' | head -300 > "/tmp/bench-$p-perf-children.txt" || true
  echo "perf: /tmp/bench-$p-perf.txt, /tmp/bench-$p-perf-children.txt"
done

results="$work/results.tsv"
for round in $(seq 1 "$ROUNDS"); do
  for c in "${CONNS[@]}"; do
    for t in "${TARGETS[@]}"; do
      threads=$(( c < 2 ? 1 : 2 ))
      cpu0=$(cpu_us "${PID[$t]}")
      out=$(BENCH_KEY="${KEY[$t]}" wrk -t"$threads" -c"$c" -d"$DURATION" --latency -s "$SCRIPT" "${URL[$t]}")
      cpu1=$(cpu_us "${PID[$t]}")
      rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
      n=$(awk '/requests in/ {print $1}' <<<"$out")
      cpu=$( [ -n "${PID[$t]}" ] && awk -v a="$cpu0" -v b="$cpu1" -v n="$n" 'BEGIN { printf "%.0f", (b - a) / (n > 0 ? n : 1) }' || echo -)
      p50=$(to_ms "$(awk '$1=="50%" {print $2}' <<<"$out")")
      p99=$(to_ms "$(awk '$1=="99%" {print $2}' <<<"$out")")
      bad=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out"); bad=${bad:-0}
      errs=$(awk '/Socket errors:/ {gsub(",",""); print $4+$6+$8+$10}' <<<"$out"); errs=${errs:-0}
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$c" "$t" "$rps" "$p50" "$p99" "$((bad + errs))" "$cpu" >> "$results"
      printf 'round %s  c=%-2s  %-8s %10s %s  p50 %7s ms  p99 %7s ms  cpu %5s us/%s  non-2xx/errors %s\n' \
        "$round" "$c" "$t" "$rps" "$RATE" "$p50" "$p99" "$cpu" "$UNIT" "$((bad + errs))"
    done
  done
done

# Right after the last budgeted run (leases end a second after their last request): how the budget grains served it.
budget_status=$(api GET /api/v1/budgets/tenant/budgeted "$OWNER" "")
echo "budgeted tenant scope now: $(grep -o '"outstandingReservations":[0-9]*\|"leases":[0-9]*\|"settledRequests":[0-9]*' <<<"$budget_status" | tr '\n' ' ')"

rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$GW_DOTNET_PID/status")
# MEMORY=1: where the gateway's memory is after the run (smaps by kind, and the managed heap's largest types).
if [ -n "${MEMORY:-}" ]; then
  { grep -E 'Rss|Anonymous|Shared|Private' "/proc/$GW_DOTNET_PID/smaps_rollup"
    awk '/^[0-9a-f]+-[0-9a-f]+ / {name=$6} /^Rss:/ {rss[name]+=$2} END {for (n in rss) if (rss[n] > 4096) printf "%8d kB  %s\n", rss[n], n}' \
      "/proc/$GW_DOTNET_PID/smaps" | sort -rn | head -25
    dotnet-gcdump collect -p "$GW_DOTNET_PID" -o /tmp/bench-gateway.gcdump >/dev/null 2>&1 && dotnet-gcdump report /tmp/bench-gateway.gcdump | head -40
  } > /tmp/bench-gateway-memory.txt 2>&1
  echo "memory: /tmp/bench-gateway-memory.txt"
fi
median() { sort -g | awk '{a[NR]=$1} END { if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2 }'; }
col() { awk -F'\t' -v c="$1" -v t="$2" -v k="$3" '$2==c && $3==t {print $k}' "$results" | median; }

echo
mode=""; [ "$STREAM" = 1 ] && mode=", streamed (40 chunks + usage)"
echo "## Gateway benchmark ($(date -u +%Y-%m-%d), $(nproc) cores, $ROUNDS rounds x $DURATION, medians$mode)"
echo
echo "| conns | target | $RATE | p50 ms | p99 ms | added p50 vs direct (ms) | CPU us/$UNIT | non-2xx |"
echo "|---|---|---|---|---|---|---|---|"
invalid=0
for c in "${CONNS[@]}"; do
  d50=$(col "$c" direct 5)
  for t in "${TARGETS[@]}"; do
    bad=$(awk -F'\t' -v c="$c" -v t="$t" '$2==c && $3==t {s+=$7} END {print s+0}' "$results")
    [ "$bad" -eq 0 ] || invalid=1
    p50=$(col "$c" "$t" 5)
    cpu=-; [ -n "${PID[$t]}" ] && cpu=$(col "$c" "$t" 8)
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$c" "$t" "$(col "$c" "$t" 4)" "$p50" "$(col "$c" "$t" 6)" \
      "$(awk -v a="$p50" -v b="$d50" 'BEGIN{printf "%+.3f", a-b}')" "$cpu" "$bad"
  done
done
gw32=$(col 32 gateway 4); yarp32=$(col 32 yarp 4)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f%%", 100*a/b}'; }
echo
echo "- gateway / bare YARP throughput at 32 connections: $(ratio "$gw32" "$yarp32") (target >= 50%)"
echo "- gateway / bare YARP at 1 and 8 connections: $(ratio "$(col 1 gateway 4)" "$(col 1 yarp 4)"), $(ratio "$(col 8 gateway 4)" "$(col 8 yarp 4)")"
echo "- CPU per $UNIT at 32 connections: gateway $(col 32 gateway 8) us, bare YARP $(col 32 yarp 8) us ($(awk -v a="$(col 32 gateway 8)" -v b="$(col 32 yarp 8)" 'BEGIN{printf "%.1fx", a/b}'))"
echo "- gateway added p50 over direct at 1 connection: $(awk -v a="$(col 1 gateway 5)" -v b="$(col 1 direct 5)" 'BEGIN{printf "%.3f ms", a-b}') (target < 0.25 ms)"
echo "- budgets on (tenant + key) / off, at 32 connections: $(awk -v a="$(col 32 budgeted 4)" -v b="$gw32" 'BEGIN{printf "%.1f%%", 100*a/b}') (target >= 90%)"
if [[ " ${TARGETS[*]} " == *" bare "* ]]; then
  echo "- request log and telemetry on / off (gateway / bare), at 32 connections: $(awk -v a="$gw32" -v b="$(col 32 bare 4)" 'BEGIN{printf "%.1f%%", 100*a/b}') (target >= 90%)"
  echo "- request log and telemetry on, added p50 at 1 connection: $(awk -v a="$(col 1 gateway 5)" -v b="$(col 1 bare 5)" 'BEGIN{printf "%+.3f ms", a-b}'); CPU per $UNIT at 32: $(col 32 gateway 8) us on, $(col 32 bare 8) us off"
fi
echo "- budgets on added p50 at 1 connection: $(awk -v a="$(col 1 budgeted 5)" -v b="$(col 1 gateway 5)" 'BEGIN{printf "%+.3f ms", a-b}')"
echo "- gateway peak RSS (VmHWM): $((rss_kb / 1024)) MB (target < 250 MB)"
[ "$invalid" -eq 0 ] || { echo "- INVALID RUN: some responses were not 2xx"; exit 1; }

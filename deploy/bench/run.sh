#!/usr/bin/env bash
# Gateway load benchmark (not a test). One invocation, interleaved round by round:
#   direct   wrk -> nginx (zero-latency upstream, one worker, fixed chat completion with usage)
#   yarp     wrk -> bare YARP reverse proxy (one route, logging off) -> nginx   (the floor for a .NET proxy)
#   gateway  wrk -> platform (API-key auth, model routing, OpenAI SDK upstream call, cost accounting) -> nginx
#   budgeted the same gateway, with a key of a tenant whose tenant and key budgets are set (reserve + settle per request)
# Concurrency 1, 8 and 32; ROUNDS rounds (default 3) of DURATION (default 5s); medians of req/s, p50, p99.
# A run with any non-2xx response is reported invalid. Also reports the gateway's peak RSS (VmHWM).
# usage: deploy/bench/run.sh [--rounds N] [--duration 5s]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=3; DURATION=5s
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
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

NGINX_PORT=$(free_port); YARP_PORT=$(free_port); GW_PORT=$(free_port)
mkdir -p "$work/nginx"
sed -e "s#__DIR__#$work/nginx#g" -e "s#__PORT__#$NGINX_PORT#g" deploy/bench/nginx.conf.template > "$work/nginx/nginx.conf"
nginx -c "$work/nginx/nginx.conf" & pids+=($!)

(cd "$work/yarp" && exec dotnet YarpBaseline.dll --urls "http://127.0.0.1:$YARP_PORT" --upstream "http://127.0.0.1:$NGINX_PORT") >/dev/null 2>&1 & pids+=($!)

export BENCH_KEY="bench-client-key-0123456789abcdef0123456789"
(cd "$work/gateway" && exec env ${GATEWAY_ENV:-} dotnet Platform.Silo.dll --urls "http://127.0.0.1:$GW_PORT" \
  --Platform:DataDirectory="$work/data" \
  --Platform:Cluster:SiloPort="$(free_port)" \
  --Platform:Bootstrap:AdminKey="bench-admin-key-0123456789abcdef0123456789" \
  --Platform:Bootstrap:DemoClientKey="$BENCH_KEY" \
  --Platform:Models:9:Name=bench --Platform:Models:9:Provider=openai \
  --Platform:Models:9:Endpoint="http://127.0.0.1:$NGINX_PORT/v1" --Platform:Models:9:UpstreamModel=gpt-4o-mini \
  --Platform:Models:9:MaxRetries=0 \
  --Logging:LogLevel:Default=Warning) >"$work/gateway.log" 2>&1 & GW_PID=$!; pids+=($GW_PID)

wait_http "http://127.0.0.1:$NGINX_PORT/"
wait_http "http://127.0.0.1:$YARP_PORT/"
wait_http "http://127.0.0.1:$GW_PORT/health/ready"
GW_DOTNET_PID=$GW_PID

declare -A URL=( [direct]="http://127.0.0.1:$NGINX_PORT/v1/chat/completions"
                 [yarp]="http://127.0.0.1:$YARP_PORT/v1/chat/completions"
                 [gateway]="http://127.0.0.1:$GW_PORT/v1/chat/completions" )
TARGETS=(direct yarp gateway budgeted); CONNS=(1 8 32)

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
URL[budgeted]="http://127.0.0.1:$GW_PORT/v1/chat/completions"
declare -A KEY=( [direct]="$BENCH_KEY" [yarp]="$BENCH_KEY" [gateway]="$BENCH_KEY" [budgeted]="$BUDGET_KEY" )

# A request through each target must succeed before measuring.
for t in "${TARGETS[@]}"; do
  code=$(curl -s -o "$work/check.json" -w '%{http_code}' -X POST "${URL[$t]}" -H "Content-Type: application/json" \
    -H "Authorization: Bearer ${KEY[$t]}" -d '{"model":"bench","messages":[{"role":"user","content":"hi"}],"max_tokens":16}')
  [ "$code" = 200 ] || { echo "$t answered $code: $(cat "$work/check.json")"; exit 1; }
done

to_ms() { awk -v v="$1" 'BEGIN { n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /ms$/) n=n; else if (v ~ /s$/) n*=1000; printf "%.3f", n }'; }
echo "Warming up..."
for t in "${TARGETS[@]}"; do BENCH_KEY="${KEY[$t]}" wrk -t2 -c32 -d3s -s deploy/bench/post.lua "${URL[$t]}" >/dev/null; done

results="$work/results.tsv"
for round in $(seq 1 "$ROUNDS"); do
  for c in "${CONNS[@]}"; do
    for t in "${TARGETS[@]}"; do
      threads=$(( c < 2 ? 1 : 2 ))
      out=$(BENCH_KEY="${KEY[$t]}" wrk -t"$threads" -c"$c" -d"$DURATION" --latency -s deploy/bench/post.lua "${URL[$t]}")
      rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
      p50=$(to_ms "$(awk '$1=="50%" {print $2}' <<<"$out")")
      p99=$(to_ms "$(awk '$1=="99%" {print $2}' <<<"$out")")
      bad=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out"); bad=${bad:-0}
      errs=$(awk '/Socket errors:/ {gsub(",",""); print $4+$6+$8+$10}' <<<"$out"); errs=${errs:-0}
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$c" "$t" "$rps" "$p50" "$p99" "$((bad + errs))" >> "$results"
      printf 'round %s  c=%-2s  %-8s %10s req/s  p50 %7s ms  p99 %7s ms  non-2xx/errors %s\n' "$round" "$c" "$t" "$rps" "$p50" "$p99" "$((bad + errs))"
    done
  done
done

rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$GW_DOTNET_PID/status")
median() { sort -g | awk '{a[NR]=$1} END { if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2 }'; }
col() { awk -F'\t' -v c="$1" -v t="$2" -v k="$3" '$2==c && $3==t {print $k}' "$results" | median; }

echo
echo "## Gateway benchmark ($(date -u +%Y-%m-%d), $(nproc) cores, $ROUNDS rounds x $DURATION, medians)"
echo
echo "| conns | target | req/s | p50 ms | p99 ms | added p50 vs direct (ms) | non-2xx |"
echo "|---|---|---|---|---|---|---|"
invalid=0
for c in "${CONNS[@]}"; do
  d50=$(col "$c" direct 5)
  for t in "${TARGETS[@]}"; do
    bad=$(awk -F'\t' -v c="$c" -v t="$t" '$2==c && $3==t {s+=$7} END {print s+0}' "$results")
    [ "$bad" -eq 0 ] || invalid=1
    p50=$(col "$c" "$t" 5)
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$c" "$t" "$(col "$c" "$t" 4)" "$p50" "$(col "$c" "$t" 6)" \
      "$(awk -v a="$p50" -v b="$d50" 'BEGIN{printf "%+.3f", a-b}')" "$bad"
  done
done
gw32=$(col 32 gateway 4); yarp32=$(col 32 yarp 4)
echo
echo "- gateway / bare YARP throughput at 32 connections: $(awk -v a="$gw32" -v b="$yarp32" 'BEGIN{printf "%.1f%%", 100*a/b}') (target >= 50%)"
echo "- gateway added p50 over direct at 1 connection: $(awk -v a="$(col 1 gateway 5)" -v b="$(col 1 direct 5)" 'BEGIN{printf "%.3f ms", a-b}') (target < 0.25 ms)"
echo "- budgets on (tenant + key) / off, at 32 connections: $(awk -v a="$(col 32 budgeted 4)" -v b="$gw32" 'BEGIN{printf "%.1f%%", 100*a/b}') (target >= 90%)"
echo "- budgets on added p50 at 1 connection: $(awk -v a="$(col 1 budgeted 5)" -v b="$(col 1 gateway 5)" 'BEGIN{printf "%+.3f ms", a-b}')"
echo "- gateway peak RSS (VmHWM): $((rss_kb / 1024)) MB (target < 250 MB)"
[ "$invalid" -eq 0 ] || { echo "- INVALID RUN: some responses were not 2xx"; exit 1; }

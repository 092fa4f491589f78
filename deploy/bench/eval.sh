#!/usr/bin/env bash
# Evaluation-run benchmark (not a test). One published silo (embedded profile, fresh data directory) with a zero-latency
# simulated route (sim-zero), one tenant and its owner key; everything through the HTTP API, as a user would.
#   warm-up     a 20,000-item dataset run three times (full, baseline, full), idling 5 s after each: on 2 shared cores the
#               JIT's tiered compilation lags far behind a short run (a dozen 1,000-item runs still leave a third of the CPU
#               to the tiering thread and the rest running instrumented tier-0 code), and a short run would measure the JIT.
#   memory      a 100,000-item dataset (one version, ~12 MB of JSONL) in one run with the full evaluators: the silo's RSS
#               (VmRSS) and, with HEAP=1 (default), the managed heap (dotnet-gcdump, which forces a full GC and stalls the
#               run a second or two) at 10/25/50/75/100% of the items; then a second run, RSS only, for the undisturbed
#               rate. Flat: RSS at 100% at most 30 MB above RSS at 25% (0.4 KB an item over those 75,000 items; results
#               kept in memory cost ~2 KB an item). Not a percentage: the starting RSS includes whatever earlier runs left
#               and the server GC's sizing, and 15% of a 900 MB process let a run that kept every result pass.
#   throughput  a 1,000-item dataset (one user message + an expected output) run with the full deterministic evaluators
#               (exact_match, contains, regex, valid_json, length, token_f1, rouge_l, pii, refusal) and, as the baseline,
#               with only `contains`; at each concurrency (default 8, 16, 32), ROUNDS rounds (default 3) interleaved;
#               medians of items/s from the run's own createdAt/finishedAt (server), of items/s from the wall clock (POST
#               to the poll that saw it finish, polls every 20 ms), and of the silo's CPU time per item (utime+stime).
# Prints a markdown table. Runs are on a shared machine: read the ratios and CPU per item more than the rates.
# usage: deploy/bench/eval.sh [--rounds N] [--concurrency "8 16 32"] [--items 1000] [--big 100000] [--big-concurrency 16]
#        [--no-big] [--silo DIR (an already published silo; skips the publish)]
# Environment: WARMUP=<items> (20000), SETTLE=<seconds> (5), HEAP=0 (no heap dumps, one big run).
# PERF=1: perf's CPU samples of the silo during the first 20 s of the big run (/tmp/evalbench-big-perf.txt) and during
# PERF_RUNS (5) extra 1,000-item runs before the rounds (/tmp/evalbench-small-perf*.txt), with the methods the JIT compiled
# meanwhile (/tmp/evalbench-jitted.txt); JIT symbols via DOTNET_PerfMapEnabled=1, W^X off.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=3; CONCS="8 16 32"; ITEMS=1000; BIG=100000; BIG_CONC=16; SILO=""; HEAP=${HEAP:-1}
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --concurrency) CONCS=$2; shift 2 ;;
    --items) ITEMS=$2; shift 2 ;;
    --big) BIG=$2; shift 2 ;;
    --big-concurrency) BIG_CONC=$2; shift 2 ;;
    --no-big) BIG=0; shift ;;
    --silo) SILO=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
for tool in curl node; do command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 2; }; done

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; cp "$work/silo.log" /tmp/evalbench-silo.log 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null \
  || node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_http() { for _ in $(seq 1 150); do curl -s -o /dev/null "$1" && return 0; sleep 0.2; done; echo "not answering: $1" >&2; return 1; }

if [ -z "$SILO" ]; then
  echo "Building (Release)..."
  dotnet publish src/Platform.Silo -c Release -o "$work/silo" --nologo -v q -clp:ErrorsOnly >/dev/null
  SILO="$work/silo"
fi

ADMIN="bench-admin-key-0123456789abcdef0123456789"
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
(cd "$SILO" && exec env ${PERF:+DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0} dotnet Platform.Silo.dll --urls "$BASE" \
  --Platform:DataDirectory="$work/data" \
  --Platform:Cluster:SiloPort="$(free_port)" \
  --Platform:Bootstrap:AdminKey="$ADMIN" \
  --Platform:Models:30:Name=sim-zero --Platform:Models:30:Provider=simulated --Platform:Models:30:UpstreamModel=gpt-4o-mini \
  --Platform:Models:30:Simulated:LatencyMilliseconds=0 --Platform:Models:30:Simulated:OutputWords=24 \
  --Logging:LogLevel:Default=Warning) >"$work/silo.log" 2>&1 & SILO_PID=$!; pids+=($SILO_PID)
wait_http "$BASE/health/ready"

api() { curl -sf -X "$1" "$BASE$2" -H "Authorization: Bearer $3" -H "Content-Type: application/json" ${4:+-d "$4"}; }
json_field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);console.log(eval("j."+process.argv[1]))})' "$1"; }
api POST /api/v1/tenants "$ADMIN" '{"id":"evalbench","displayName":"Evaluation benchmark"}' >/dev/null
OWNER=$(api POST /api/v1/tenants/evalbench/keys "$ADMIN" '{"name":"owner","role":"owner"}' | json_field secret)

# import <dataset> <items>: a new version of small items (one user message, an expected output that the simulated model's
# vocabulary partly overlaps, so token_f1 and rouge_l do real work); prints the version number.
import() {
  node -e '
    const n = +process.argv[1];
    const expected = ["the platform routes each request through a release", "stable answers from every silo in the cluster",
                      "cost and latency are measured so regressions roll back", "{\"answer\": 42}"];
    const out = [];
    for (let i = 0; i < n; i++)
      out.push(JSON.stringify({ id: "i" + i, messages: [{ role: "user", content: "question " + i }], expected: expected[i % 4] }));
    process.stdout.write(out.join("\n"));' "$2" > "$work/$1.jsonl"
  curl -sf -X POST "$BASE/api/v1/datasets/$1/versions" -H "Authorization: Bearer $OWNER" -H "Content-Type: application/x-ndjson" \
    --data-binary "@$work/$1.jsonl" | json_field version.version
}

FULL='[{"name":"exact","kind":"exact_match"},{"name":"has_the","kind":"contains","value":"the"},
  {"name":"words","kind":"regex","value":"^[a-z ]+$"},{"name":"json","kind":"valid_json"},
  {"name":"length","kind":"length","minLength":10,"maxLength":2000},{"name":"f1","kind":"token_f1"},
  {"name":"rouge","kind":"rouge_l"},{"name":"pii","kind":"pii"},{"name":"refusal","kind":"refusal"}]'
BASELINE='[{"name":"has_the","kind":"contains","value":"the"}]'

now_ms() { date +%s%3N; }
# start <dataset> <version> <concurrency> <evaluators json>: the run's id.
start() {
  api POST /api/v1/evaluations/runs "$OWNER" \
    "{\"dataset\":\"$1\",\"datasetVersion\":$2,\"target\":{\"release\":{\"modelRoute\":\"sim-zero\"}},\"concurrency\":$3,\"evaluators\":$4}" \
    > "$work/started.json"
  [[ $(<"$work/started.json") =~ ^\{\"id\":\"([^\"]+)\" ]] && echo "${BASH_REMATCH[1]}" || { echo "no run id: $(<"$work/started.json")" >&2; exit 1; }
}
# status <id>: "status completed total failed server_seconds" of the run.
status() {
  api GET "/api/v1/evaluations/runs/$1" "$OWNER" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);
    const secs = j.finishedAt ? (Date.parse(j.finishedAt) - Date.parse(j.createdAt)) / 1000 : 0;
    console.log(j.status, j.completedItems, j.totalItems, j.failedItems, secs)})'
}
# CPU time of the silo (user + system) in microseconds.
cpu_us() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.0f", ($12 + $13) * 1000000 / hz }' "/proc/$SILO_PID/stat"; }
# run_once <dataset> <version> <concurrency> <evaluators>: "server_items_per_s wall_items_per_s failed cpu_us_per_item" of one
# finished run (the CPU time includes serving the polls, one every 20 ms).
run_once() {
  local t0 id st done total failed secs t1 cpu0 cpu1
  cpu0=$(cpu_us); t0=$(now_ms); id=$(start "$1" "$2" "$3" "$4")
  # Polled with curl alone (a node start per poll would blur the wall clock of a sub-second run).
  while [[ $(api GET "/api/v1/evaluations/runs/$id" "$OWNER") =~ \"status\":\"(running|pending)\" ]]; do sleep 0.02; done
  t1=$(now_ms); cpu1=$(cpu_us)
  read -r st done total failed secs <<<"$(status "$id")"
  [ "$st" = completed ] && [ "$done" = "$total" ] || { echo "run $id ended $st ($done of $total): $(api GET "/api/v1/evaluations/runs/$id" "$OWNER")" >&2; exit 1; }
  awk -v n="$total" -v s="$secs" -v w="$(( t1 - t0 ))" -v f="$failed" -v c="$(( cpu1 - cpu0 ))" \
    'BEGIN { printf "%.1f %.1f %d %.0f\n", n / s, n * 1000 / w, f, c / n }'
}

echo "Importing $ITEMS items..."
SMALL_V=$(import small "$ITEMS")
# Warm-up (see the top of this file).
WARMUP=${WARMUP:-20000}
echo "Warming up ($WARMUP items, full and baseline)..."
WARM_V=$(import warm "$WARMUP")
for evaluators in "$FULL" "$BASELINE" "$FULL"; do
  read -r server _ _ cpu <<<"$(run_once warm "$WARM_V" 16 "$evaluators")"; echo "  warm-up run: $server items/s, $cpu us CPU/item"
  # Idle a moment: under load the tiered-compilation thread falls behind, and it catches up when the cores are free.
  sleep "${SETTLE:-5}"
done

rss_mb() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$SILO_PID/status"; }
export PATH="$PATH:$HOME/.dotnet/tools"
# heap_mb [label]: the managed heap after a full GC (dotnet-gcdump); its largest types go to /tmp/evalbench-heap-<label>.txt.
heap_mb() {
  [ "$HEAP" = 1 ] && command -v dotnet-gcdump >/dev/null || { echo -; return; }
  dotnet-gcdump collect -p "$SILO_PID" -o "$work/heap.gcdump" >/dev/null 2>&1 || { echo -; return; }
  dotnet-gcdump report "$work/heap.gcdump" 2>/dev/null > "$work/heap.txt" || { echo -; return; }
  [ -n "${1:-}" ] && cp "$work/heap.txt" "/tmp/evalbench-heap-$1.txt"
  awk '/GC Heap bytes/ {gsub(",", "", $1); printf "%.0f", $1 / 1048576; exit}' "$work/heap.txt"
}
# big_run <label> <heap 0|1>: one run of the big dataset with the full evaluators, sampling the silo's RSS (and with heap=1
# the managed heap) as the completed items pass 10, 25, 50, 75 and 100%; rows go to big_<label>, the rate to rate_<label>.
big_run() {
  local label=$1 heap=$2 t0 t1 cpu0 cpu1 id body st=running done=0 total=$BIG failed=0 secs r h next=0 marks=(10 25 50 75 100)
  local -n rows="big_$label"
  rows=("before the run|0|$(rss_mb)|$( [ "$heap" = 1 ] && heap_mb "$label-before" || echo -)")
  cpu0=$(cpu_us); t0=$(now_ms); id=$(start big "$BIG_V" "$BIG_CONC" "$FULL")
  while :; do
    body=$(api GET "/api/v1/evaluations/runs/$id" "$OWNER")
    [[ $body =~ \"status\":\"([a-z]+)\" ]] && st=${BASH_REMATCH[1]}
    [[ $body =~ \"completedItems\":([0-9]+) ]] && done=${BASH_REMATCH[1]}
    r=$(rss_mb); [ "$r" -gt "$peak" ] && peak=$r
    while [ "$next" -lt ${#marks[@]} ] && [ $(( done * 100 )) -ge $(( ${marks[$next]} * total )) ]; do
      # RSS first: a heap dump forces a full GC (and stalls the run for a second or two).
      h=-; [ "$heap" = 1 ] && h=$(heap_mb "$label-${marks[$next]}")
      rows+=("${marks[$next]}%|$done|$r|$h")
      echo "$label ${marks[$next]}%: $done items, RSS $r MB, heap $h MB"
      next=$(( next + 1 ))
    done
    [ "$st" = running ] || [ "$st" = pending ] || break
    sleep 0.1
  done
  t1=$(now_ms); cpu1=$(cpu_us)
  read -r st done total failed secs <<<"$(status "$id")"
  [ "$st" = completed ] && [ "$done" = "$total" ] || { echo "big run ended $st ($done of $total)" >&2; exit 1; }
  printf -v "rate_$label" '%s' "$(awk -v n="$total" -v s="$secs" -v w="$(( t1 - t0 ))" -v f="$failed" -v c="$(( cpu1 - cpu0 ))" \
    'BEGIN { printf "%.1f items/s (run), %.1f items/s (wall), %.0f us CPU/item, %d failed", n / s, n * 1000 / w, c / n, f }')"
}
# rss_growth <label>: RSS from the 25% point to the 100% point, and whether that is flat.
rss_growth() {
  local -n rows="big_$1"
  local r25 r100
  r25=$(cut -d'|' -f3 <<<"${rows[2]}"); r100=$(cut -d'|' -f3 <<<"${rows[5]}")
  awk -v a="$r25" -v b="$r100" 'BEGIN { d = b - a; printf "%+d MB (%+.1f%%): %s", d, 100 * d / a, (d <= 30 ? "flat" : "NOT flat") }'
}
peak=0
if [ "$BIG" -gt 0 ]; then
  echo "Importing $BIG items..."
  t0=$(now_ms); BIG_V=$(import big "$BIG"); echo "imported in $(( ($(now_ms) - t0) / 1000 )) s"
  if [ -n "${PERF:-}" ]; then
    perf record -F 999 -g -p "$SILO_PID" -o /tmp/evalbench-big.perf -- sleep 20 >/dev/null 2>&1 & big_perf=$!
  fi
  # The memory run samples the managed heap too; the second run, RSS only, gives the undisturbed rate.
  big_run memory "$HEAP"
  if [ -n "${big_perf:-}" ]; then
    wait "$big_perf" || true
    perf report -i /tmp/evalbench-big.perf --no-children --sort symbol --stdio 2>/dev/null | grep -v '^$' | head -400 > /tmp/evalbench-big-perf.txt || true
    echo "perf: /tmp/evalbench-big-perf.txt"
  fi
  [ "$HEAP" = 1 ] && big_run rate 0
fi

# Throughput, after the big runs: by then the JIT has tiered up the whole path (see the warm-up).
if [ -n "${PERF:-}" ]; then
  read -r -a cs <<<"$CONCS"
  jitted=$(wc -l < "/tmp/perf-$SILO_PID.map")
  perf record -F 999 -g -p "$SILO_PID" -o /tmp/evalbench-small.perf -- sleep 600 >/dev/null 2>&1 & perf_pid=$!
  sleep 1; for _ in $(seq 1 "${PERF_RUNS:-5}"); do run_once small "$SMALL_V" "${cs[-1]}" "$FULL" >/dev/null; done; kill -INT "$perf_pid"; wait "$perf_pid" || true
  # The methods the JIT compiled while sampling (after the warm-up there should be few).
  tail -n +"$((jitted + 1))" "/tmp/perf-$SILO_PID.map" | cut -d' ' -f3- > /tmp/evalbench-jitted.txt
  echo "jitted while sampling: $(wc -l < /tmp/evalbench-jitted.txt) methods (/tmp/evalbench-jitted.txt)"
  perf report -i /tmp/evalbench-small.perf --no-children --sort symbol --stdio 2>/dev/null | grep -v '^$' | head -400 > /tmp/evalbench-small-perf.txt || true
  perf report -i /tmp/evalbench-small.perf --children --sort symbol --stdio -g none 2>/dev/null | grep '%' | head -300 > /tmp/evalbench-small-perf-children.txt || true
  echo "perf: /tmp/evalbench-small-perf.txt, /tmp/evalbench-small-perf-children.txt"
fi

results="$work/results.tsv"
for round in $(seq 1 "$ROUNDS"); do
  for c in $CONCS; do
    for kind in full baseline; do
      evaluators=$FULL; [ "$kind" = baseline ] && evaluators=$BASELINE
      read -r server wall failed cpu <<<"$(run_once small "$SMALL_V" "$c" "$evaluators")"
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$c" "$kind" "$server" "$wall" "$failed" "$cpu" >> "$results"
      printf 'round %s  c=%-2s  %-8s  %8s items/s (run)  %8s items/s (wall)  cpu %5s us/item  failed %s\n' \
        "$round" "$c" "$kind" "$server" "$wall" "$cpu" "$failed"
    done
  done
done

median() { sort -g | awk '{a[NR]=$1} END { if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2 }'; }
col() { awk -F'\t' -v c="$1" -v k="$2" -v f="$3" '$2==c && $3==k {print $f}' "$results" | median; }

echo
echo "## Evaluation-run benchmark ($(date -u +%Y-%m-%d), $(nproc) cores, shared; $ITEMS items, $ROUNDS rounds, medians)"
echo
echo "Zero-latency simulated route; full = 9 deterministic evaluators, baseline = \`contains\` only."
echo
echo "| concurrency | evaluators | items/s (run) | items/s (wall) | CPU us/item | full / baseline items/s | full / baseline CPU | failed items |"
echo "|---|---|---|---|---|---|---|---|"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
[ "$ROUNDS" -gt 0 ] && for c in $CONCS; do
  for kind in full baseline; do
    r1=""; r2=""; [ "$kind" = full ] && { r1=$(ratio "$(col "$c" full 4)" "$(col "$c" baseline 4)"); r2=$(ratio "$(col "$c" full 7)" "$(col "$c" baseline 7)"); }
    failed=$(awk -F'\t' -v c="$c" -v k="$kind" '$2==c && $3==k {s+=$6} END {print s+0}' "$results")
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$c" "$kind" "$(col "$c" "$kind" 4)" "$(col "$c" "$kind" 5)" "$(col "$c" "$kind" 7)" "$r1" "$r2" "$failed"
  done
done
if [ "$ROUNDS" -gt 0 ]; then
  slowest=$(for c in $CONCS; do col "$c" full 4; done | sort -g | head -1)
  echo
  echo "- slowest median with the full evaluators: $slowest items/s (target >= 500): $(awk -v a="$slowest" 'BEGIN { print (a >= 500 ? "met" : "NOT met") }')"
fi
if [ "$BIG" -gt 0 ]; then
  echo
  echo "$BIG items in one version, one run at concurrency $BIG_CONC with the full evaluators:"
  echo
  echo "- memory run (heap dumps at each point): ${rate_memory}"
  [ "$HEAP" = 1 ] && echo "- second run, RSS only: ${rate_rate}"
  echo
  if [ "$HEAP" = 1 ]; then
    echo "| point | items done | RSS MB | managed heap MB (after a full GC) | second run: items done | second run: RSS MB |"
    echo "|---|---|---|---|---|---|"
    for i in "${!big_memory[@]}"; do
      IFS='|' read -r a b c d <<<"${big_memory[$i]}"; IFS='|' read -r _ f g _ <<<"${big_rate[$i]}"
      printf '| %s | %s | %s | %s | %s | %s |\n' "$a" "$b" "$c" "$d" "$f" "$g"
    done
  else
    echo "| point | items done | RSS MB |"
    echo "|---|---|---|"
    for row in "${big_memory[@]}"; do IFS='|' read -r a b c _ <<<"$row"; printf '| %s | %s | %s |\n' "$a" "$b" "$c"; done
  fi
  echo
  echo "- RSS growth from 25% to 100% of the items: $(rss_growth memory)$( [ "$HEAP" = 1 ] && echo "; second run $(rss_growth rate)")"
  echo "  (flat: at most +30 MB); peak RSS sampled: $peak MB"
fi

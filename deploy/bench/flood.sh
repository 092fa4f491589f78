#!/usr/bin/env bash
# Unauthenticated-flood benchmark (not a test; issue 10, finding 5). For each configuration:
#   limited    the default failed-authentication limit (the flood from loopback is answered 429 after a few failures)
#   unlimited  Platform:Authentication:FailureLimit=0, so every flooded key reaches the key directory
# starts a fresh Release silo (embedded profile), warms it up (valid requests and a short flood), then measures
#   1. RSS and a valid client's latency (one connection, sequential GET /v1/models) with no flood, BASELINE seconds;
#   2. the same valid client during a flood of random well-formed keys (sk-plt- + 32 random bytes) from many
#      connections at RATE requests/s for FLOOD seconds, sampling the silo's RSS every second.
# Targets: RSS during the flood within 30 MB of its value before; valid p50 within 20% of the unflooded p50.
# --source DIR builds the silo from another checkout (e.g. `git archive <commit>` of the version before) for a baseline.
# usage: deploy/bench/flood.sh [--seconds 60] [--rate 5000] [--connections 64] [--baseline 15] [--source DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
FLOOD=60; RATE=5000; CONNS=64; BASELINE=15; SOURCE=.
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) FLOOD=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --connections) CONNS=$2; shift 2 ;;
    --baseline) BASELINE=$2; shift 2 ;;
    --source) SOURCE=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d)
SILO_PID=
cleanup() { [ -n "$SILO_PID" ] && kill "$SILO_PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$SILO_PID/status"; }
driver=deploy/bench/flood-driver.mjs
KEY="bench-client-key-0123456789abcdef0123456789"

echo "Building (Release)..."
dotnet publish "$SOURCE/src/Platform.Silo" -c Release -o "$work/silo" --nologo -v q -clp:ErrorsOnly >/dev/null

run() {
  local name=$1; shift
  local port; port=$(free_port)
  (cd "$work/silo" && exec dotnet Platform.Silo.dll --urls "http://127.0.0.1:$port" \
    --Platform:DataDirectory="$work/data-$name" \
    --Platform:Cluster:SiloPort="$(free_port)" \
    --Platform:Bootstrap:AdminKey="bench-admin-key-0123456789abcdef0123456789" \
    --Platform:Bootstrap:DemoClientKey="$KEY" \
    --Logging:LogLevel:Default=Warning "$@") >"$work/silo-$name.log" 2>&1 &
  SILO_PID=$!
  local base="http://127.0.0.1:$port"
  for _ in $(seq 1 150); do curl -s -o /dev/null "$base/health/ready" && break; sleep 0.2; done
  local started; started=$(rss_mb)

  # Warm-up: JIT both paths and activate the directory shards, as a silo that has served traffic would have.
  node "$driver" valid "$base" "$KEY" 5 >/dev/null &
  local warm_pid=$!
  node "$driver" flood "$base" 5 "$RATE" "$CONNS" >/dev/null
  wait "$warm_pid"

  local before; before=$(rss_mb)
  local quiet; quiet=$(node "$driver" valid "$base" "$KEY" "$BASELINE")
  local after_quiet; after_quiet=$(rss_mb)

  node "$driver" valid "$base" "$KEY" "$FLOOD" >"$work/valid-$name.json" &
  local valid_pid=$!
  node "$driver" flood "$base" "$FLOOD" "$RATE" "$CONNS" >"$work/flood-$name.json" &
  local flood_pid=$!
  local max=$after_quiet
  while kill -0 "$flood_pid" 2>/dev/null; do
    local now; now=$(rss_mb)
    max=$(awk -v a="$max" -v b="$now" 'BEGIN{print (b>a)?b:a}')
    sleep 1
  done
  wait "$valid_pid"; wait "$flood_pid" || true
  local end; end=$(rss_mb)
  local loud; loud=$(cat "$work/valid-$name.json")
  local flood; flood=$(cat "$work/flood-$name.json")
  kill "$SILO_PID"; wait "$SILO_PID" 2>/dev/null || true; SILO_PID=

  local p50q p50f
  p50q=$(node -e "console.log(JSON.parse(process.argv[1]).p50)" "$quiet")
  p50f=$(node -e "console.log(JSON.parse(process.argv[1]).p50)" "$loud")
  echo
  echo "### $name"
  echo
  echo "| | value |"
  echo "|---|---|"
  echo "| RSS after start / after warm-up / after quiet phase | $started / $before / $after_quiet MB |"
  echo "| RSS peak during the ${FLOOD}s flood / at its end | $max / $end MB |"
  echo "| RSS peak minus before-flood (target <= 30 MB) | $(awk -v a="$max" -v b="$after_quiet" 'BEGIN{printf "%+.1f", a-b}') MB |"
  echo "| valid client, no flood | $quiet |"
  echo "| valid client, during flood | $loud |"
  echo "| valid p50 during / without flood (target <= 1.20) | $(awk -v a="$p50f" -v b="$p50q" 'BEGIN{printf "%.2f", a/b}') |"
  echo "| flood | $flood |"
}

echo
echo "## Unauthenticated flood ($(date -u +%Y-%m-%d), $(nproc) cores, ${RATE}/s offered for ${FLOOD}s over $CONNS connections, source $SOURCE)"
run limited
run unlimited --Platform:Authentication:FailureLimit=0

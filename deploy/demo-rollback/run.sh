#!/usr/bin/env bash
# Demo: a canary with a deliberately worse simulated model is rolled back by the platform itself.
# Starts the embedded platform (Release build) on a free port, creates a tenant, a deployment on `sim-small`
# (1% errors) and a canary on `sim-worse` (11% errors: a 10-point regression) at 50% weight with the default
# rollout policy, sends ~100 requests/s (~50/s on the canary arm), and prints the automatic rollback with the
# numbers that decided it and the time from the start of the regression to the rollback taking effect.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
admin="demo-admin-key-0123456789abcdef0123456789"
echo "Building the platform..."
dotnet publish src/Platform.Silo -c Release -o "$work/app" --nologo -v q -clp:ErrorsOnly >/dev/null
(cd "$work/app" && exec dotnet Platform.Silo.dll --urls "http://127.0.0.1:$port" \
  --Platform:DataDirectory="$work/data" \
  --Platform:Cluster:SiloPort="$((port + 1))" \
  --Platform:Bootstrap:AdminKey="$admin" \
  --Platform:Models:0:Simulated:ErrorRate=0.01 \
  --Platform:Models:9:Name=sim-worse --Platform:Models:9:Provider=simulated --Platform:Models:9:UpstreamModel=gpt-4o-mini \
  --Platform:Models:9:MaxRetries=0 --Platform:Models:9:Simulated:ErrorRate=0.11 \
  --Logging:LogLevel:Default=Warning) > "$work/platform.log" 2>&1 &
pid=$!
for _ in $(seq 1 150); do curl -s -o /dev/null "http://127.0.0.1:$port/health/ready" && break; sleep 0.2; done
node deploy/demo-rollback/demo.mjs "http://127.0.0.1:$port" "$admin" "$@"

#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need (Azurite from npm, Prometheus from apt),
# builds, runs every test project, and prints one summary line. The tests start Azurite and
# the silo processes they need themselves, on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")"

# npm packages the tests run: Azurite (azure profile) and the official openai client (a real caller).
for dir in deploy/azurite tests/Platform.IntegrationTests/node; do
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    echo "Installing npm packages in $dir..."
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
done

# Debian's Prometheus server (2.42): the telemetry tests start one that scrapes a silo's /metrics.
if ! command -v prometheus >/dev/null 2>&1; then
  echo "Installing prometheus..."
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build Platform.sln -c Release --nologo -clp:ErrorsOnly

results=$(mktemp -d)
status=0
dotnet test Platform.sln -c Release --no-build --nologo \
  --logger "trx" --logger "console;verbosity=minimal" --results-directory "$results" || status=$?

passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters"); passed=$((passed + ${p:-0}))
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters"); failed=$((failed + ${f:-0}))
  t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters"); e=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters")
  skipped=$((skipped + ${t:-0} - ${e:-0}))
done
rm -rf "$results"

echo "${passed} passed, ${failed} failed, ${skipped} skipped"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
  exit 1
fi

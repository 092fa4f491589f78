// Load driver for deploy/bench/flood.sh (not a test). Two modes:
//   node flood-driver.mjs flood <baseUrl> <seconds> <rate/s> <connections>
//     sends GET /v1/models with a fresh random well-formed key (sk-plt- + 32 random bytes, base64url) each time,
//     paced at <rate> per second over up to <connections> keep-alive connections; prints JSON counts per status.
//   node flood-driver.mjs valid <baseUrl> <key> <seconds>
//     one keep-alive connection, one request at a time with a valid key; prints JSON latency percentiles (ms).
import http from 'node:http';
import { randomBytes } from 'node:crypto';

const [mode, base, ...rest] = process.argv.slice(2);
const url = new URL('/v1/models', base);

function get(agent, key) {
  return new Promise((resolve) => {
    const req = http.get(url, { agent, headers: { authorization: `Bearer ${key}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve('error'));
  });
}

if (mode === 'flood') {
  const [seconds, rate, connections] = rest.map(Number);
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const counts = {};
  let sent = 0, inFlight = 0, skipped = 0;
  const started = Date.now();
  const end = started + seconds * 1000;
  await new Promise((done) => {
    const tick = setInterval(() => {
      const now = Date.now();
      if (now >= end) { clearInterval(tick); const wait = setInterval(() => { if (inFlight === 0) { clearInterval(wait); done(); } }, 20); return; }
      const due = Math.floor(((now - started) / 1000) * rate) - sent - skipped;
      for (let i = 0; i < due; i++) {
        // Never queue more than a few requests per connection: a slow server sees the offered rate drop, not a backlog.
        if (inFlight >= connections * 4) { skipped++; continue; }
        sent++; inFlight++;
        get(agent, 'sk-plt-' + randomBytes(32).toString('base64url')).then((status) => { counts[status] = (counts[status] ?? 0) + 1; inFlight--; });
      }
    }, 10);
  });
  const secondsTaken = (Date.now() - started) / 1000;
  console.log(JSON.stringify({ sent, skipped, perSecond: Math.round(sent / secondsTaken), statuses: counts }));
  agent.destroy();
} else if (mode === 'valid') {
  const [key, secondsText] = rest;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const latencies = [];
  let bad = 0;
  const end = Date.now() + Number(secondsText) * 1000;
  while (Date.now() < end) {
    const t0 = process.hrtime.bigint();
    const status = await get(agent, key);
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (status !== 200) bad++;
  }
  latencies.sort((a, b) => a - b);
  const at = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(3);
  console.log(JSON.stringify({ count: latencies.length, non200: bad, p50: at(0.5), p90: at(0.9), p99: at(0.99) }));
  agent.destroy();
} else {
  console.error('usage: flood-driver.mjs flood <baseUrl> <seconds> <rate> <connections> | valid <baseUrl> <key> <seconds>');
  process.exit(2);
}

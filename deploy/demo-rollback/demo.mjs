// usage: node demo.mjs <baseUrl> <adminKey> [requestsPerSecond=100]
const [base, admin, rateArg] = process.argv.slice(2);
const rate = Number(rateArg ?? 100);
const call = async (method, path, key, body) => {
  const response = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok && method !== 'POST') throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return { status: response.status, json: text ? JSON.parse(text) : null, headers: response.headers };
};

const tenant = `demo${Date.now() % 100000}`;
await call('POST', '/api/v1/tenants', admin, { id: tenant, displayName: 'Rollback demo' });
const owner = (await call('POST', `/api/v1/tenants/${tenant}/keys`, admin, { name: 'demo owner', role: 'owner' })).json.secret;
const client = (await call('POST', `/api/v1/tenants/${tenant}/keys`, admin, { name: 'demo client', role: 'client' })).json.secret;
await call('POST', '/api/v1/deployments', owner, { name: 'assistant', stable: { modelRoute: 'sim-small' } });
console.log(`deployment 'assistant' serves sim-small (1% errors); default rollout policy`);

let sent = 0, failed = 0, stopped = false;
const traffic = (async () => {
  const interval = 1000 / rate;
  let next = performance.now();
  const inflight = new Set();
  while (!stopped) {
    const id = sent++;
    const p = call('POST', '/v1/chat/completions', client, {
      model: 'assistant', user: `user-${id % 500}`, messages: [{ role: 'user', content: `question ${id}` }],
    }).then(r => { if (r.status >= 400) failed++; }).catch(() => { failed++; }).finally(() => inflight.delete(p));
    inflight.add(p);
    next += interval;
    const wait = next - performance.now();
    if (wait > 0) await new Promise(r => setTimeout(r, wait));
  }
  await Promise.all(inflight);
})();

await new Promise(r => setTimeout(r, 3000));
const started = performance.now();
await call('POST', '/api/v1/deployments/assistant/canary', owner, { release: { modelRoute: 'sim-worse' }, weight: 50, reason: 'demo: try sim-worse' });
console.log(`canary started: sim-worse (11% errors) at 50% weight, ~${rate / 2} requests/s on the canary arm`);

let rolledBack = null;
while (performance.now() - started < 60000) {
  const state = (await call('GET', '/api/v1/deployments/assistant', owner)).json;
  if (state.deployment.state === 'none') { rolledBack = performance.now(); break; }
  await new Promise(r => setTimeout(r, 100));
}
stopped = true;
await traffic;

const history = (await call('GET', '/api/v1/deployments/assistant/history', owner)).json;
const decision = history.at(-1);
if (!rolledBack || decision.action !== 'canary.rollback') {
  console.log('no automatic rollback within 60 s', JSON.stringify(decision));
  process.exit(1);
}
console.log(`\nAUTOMATIC ROLLBACK by ${decision.by} at ${decision.at}`);
console.log(`  reason:   ${decision.reason}`);
console.log(`  evidence: ${decision.evidence}`);
console.log(`  time from the start of the regression to the rollback taking effect: ${((rolledBack - started) / 1000).toFixed(1)} s`);
console.log(`  requests sent: ${sent}, failed: ${failed}`);

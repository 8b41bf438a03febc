// Each section of the console from the snapshot (src/protocol/console.ts) and GET /v1/quotas.
import { decisionsChart, legend } from './chart.js';
import { count, el, fill, instant, ms, num, rate, seconds, td, th, windowOf } from './tables.js';

const byId = (id) => document.getElementById(id);

/** Rows in a stable order whatever order the registry lists the nodes in. */
const byNodeId = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

function renderNodes(snapshot) {
  const rows = snapshot.nodes.map((node) => {
    const state = node.reachable ? 'answering' : `not answering: ${node.problem ?? 'unknown'}`;
    const name = node.id === snapshot.askedNode ? `${node.id} (this node)` : node.id;
    return el(
      'tr',
      node.reachable ? '' : 'problem',
      th(name),
      td(node.address || '–'),
      td(node.version),
      td(node.store),
      num(seconds(node.uptimeSeconds)),
      num(`${(node.heartbeatAgeMs / 1000).toFixed(1)} s`),
      td(state),
    );
  });
  fill(byId('nodes'), rows, 'No node is registered.');
}

function decisionsRow(label, rates, series) {
  return el(
    'tr',
    '',
    th(label),
    num(rate(rates.allowed)),
    num(rate(rates.denied)),
    num(rate(rates.degraded)),
    td(series ? decisionsChart(series, label, rates, true) : '–'),
  );
}

function renderDecisions(snapshot) {
  const { decisions } = snapshot;
  const holder = byId('decisions-chart');
  holder.replaceChildren(
    decisionsChart(decisions.fleet, 'the whole deployment', decisions.current, false, holder.clientWidth),
    legend(),
  );
  const rows = [decisionsRow('Whole deployment', decisions.current, decisions.fleet)];
  for (const node of snapshot.nodes) {
    if (node.current) rows.push(decisionsRow(node.id, node.current, decisions.byNode[node.id]));
    else {
      const missing = td('no figures: the node did not answer', 'empty');
      missing.colSpan = 4;
      rows.push(el('tr', 'problem', th(node.id), missing));
    }
  }
  byId('decisions').replaceChildren(...rows);
}

function renderKeys(snapshot) {
  const denied = snapshot.deniedKeys;
  const shown =
    denied.keys === 'plain'
      ? 'Keys are shown as sent (RATELIMITER_CONSOLE_KEYS=plain).'
      : 'Keys are shown hashed (h: and 12 hex digits of an HMAC), never as sent.';
  const bound =
    denied.maxUndercount === 0
      ? 'the counts are exact'
      : `each count is at most ${count(denied.maxUndercount)} short`;
  byId('keys-note').textContent = `${shown} ${count(denied.counted)} denials in the last minute; ${bound}.`;
  const rows = denied.top.map((key) =>
    el(
      'tr',
      '',
      th(el('code', '', key.key)),
      num(count(key.denied)),
      td(key.algorithm),
      num(count(key.limit)),
      num(windowOf(key.windowMs)),
    ),
  );
  fill(byId('keys'), rows, 'No key was denied in the last minute.');
}

function domainsOf(rules) {
  if (rules.domains.length === 0) return '–';
  return rules.domains.map(({ domain, rules: ruleCount }) => `${domain} (${ruleCount})`).join(', ');
}

function renderRules(snapshot) {
  const rows = snapshot.rules.map((rules) => {
    const error = rules.lastError
      ? `${rules.lastError.file}:${rules.lastError.line}: ${rules.lastError.reason}`
      : 'none';
    return el(
      'tr',
      rules.lastError ? 'problem' : '',
      th(rules.nodeId),
      td(rules.path ? el('code', '', rules.path) : 'no rules file'),
      td(domainsOf(rules)),
      num(count(rules.ruleCount)),
      td(instant(rules.lastLoadAt)),
      td(rules.lastErrorAt ? el('span', '', instant(rules.lastErrorAt), ` ${error}`) : error),
    );
  });
  fill(byId('rules'), rows, 'No node answered with its rules.');
}

function errorsOf(errors) {
  const entries = Object.entries(errors);
  if (entries.length === 0) return 'none';
  return entries.map(([reason, n]) => `${reason} ${count(n)}`).join(', ');
}

function storeRow(label, kind, store) {
  const failing = Object.keys(store.errors).length > 0;
  return el(
    'tr',
    failing ? 'problem' : '',
    th(label),
    td(kind),
    num(ms(store.latencyP50Ms)),
    num(ms(store.latencyP99Ms)),
    num(count(store.calls)),
    td(errorsOf(store.errors)),
    num(count(store.denyCacheHits)),
    num(count(store.shed)),
    num(count(store.timeouts)),
  );
}

function renderStore(snapshot) {
  const { store } = snapshot;
  const kinds = [...new Set(store.byNode.map((node) => node.kind))].join(', ');
  const rows = [storeRow('Whole deployment', kinds || '–', store)];
  for (const node of store.byNode) rows.push(storeRow(node.nodeId, node.kind, node));
  byId('store').replaceChildren(...rows);
}

export function renderSnapshot(snapshot) {
  snapshot.nodes.sort((a, b) => byNodeId(a.id, b.id));
  snapshot.rules.sort((a, b) => byNodeId(a.nodeId, b.nodeId));
  snapshot.store.byNode.sort((a, b) => byNodeId(a.nodeId, b.nodeId));
  renderNodes(snapshot);
  renderDecisions(snapshot);
  renderKeys(snapshot);
  renderRules(snapshot);
  renderStore(snapshot);
}

function limitOf(bucket) {
  if (bucket.requestsPerUnit === null || bucket.unitSeconds === null) return 'no quota rule';
  return `${count(bucket.requestsPerUnit)} per ${windowOf(bucket.unitSeconds * 1000)}`;
}

/** GET /v1/quotas's answer, or why there is none (the quota store may be down when Redis is). */
export function renderQuotas(reply, problem) {
  const tbody = byId('quotas');
  if (problem) {
    fill(tbody, [], `Quotas unavailable: ${problem}`);
    return;
  }
  const rows = reply.buckets.map((bucket) =>
    el(
      'tr',
      '',
      th(bucket.domain),
      td(
        el(
          'code',
          '',
          Object.entries(bucket.bucket)
            .map(([name, value]) => `${name}=${value}`)
            .join(', '),
        ),
      ),
      td(bucket.quota ?? '–'),
      num(limitOf(bucket)),
      num(count(bucket.assignedTokensPerFill)),
      num(count(bucket.proxies.length)),
    ),
  );
  fill(tbody, rows, 'No quota bucket has a live proxy (RLQS).');
}

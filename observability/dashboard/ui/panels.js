// The panels fed by the stream's snapshots. Each render function takes
// the latest snapshot of every target and answers the panel's content.

import {empty, h, ms, notReported, num, pct, sparkline, table} from './dom.js';
import {graph} from './graph.js';

const HISTORY = 60;

// per runs row(target, snapshot) for every target whose snapshot has
// field, and answers the rows, or null when no target reports field.
function per(snaps, field, rows) {
  let reported = false;
  const out = [];
  for (const [target, snap] of snaps) {
    if (!(field in snap) || snap[field] === null) continue;
    reported = true;
    out.push(...rows(target, snap[field], snap));
  }
  return reported ? out : null;
}

// targetCell is the target column, shown only with several targets.
const targetCell = (multi, target) => (multi ? h('td', {}, target) : null);
const targetHead = (multi, head) => (multi ? ['target', ...head] : head);

export function topology(snaps, multi) {
  const rows = per(snaps, 'edges', (target, edges) => edges.map((e) =>
    h('tr', {class: e.errors > 0 ? 'warn' : null}, targetCell(multi, target),
      h('td', {}, `${e.from} → ${e.to}`), h('td', {class: 'num'}, num(e.rate, 2)),
      h('td', {class: 'num'}, num(e.requests, 0)), h('td', {class: 'num'}, pct(e.error_ratio)),
      h('td', {class: 'num'}, num(e.rejected, 0)), h('td', {class: 'num'}, ms(e.p50_ms)),
      h('td', {class: 'num'}, ms(e.p99_ms)))));
  if (rows === null) return notReported();
  if (rows.length === 0) return empty('No calls to other services in the last minute.');
  return [graph(snaps), table(targetHead(multi, ['call', 'req/s', 'requests', 'errors', 'rejected', 'p50', 'p99']), rows)];
}

export function instances(snaps, multi) {
  const rows = per(snaps, 'services', (target, services) => services.flatMap((svc) => svc.instances.map((i) =>
    h('tr', {'data-ejected': String(i.ejected)}, targetCell(multi, target),
      h('td', {}, svc.service), h('td', {}, i.id), h('td', {}, i.addr), h('td', {}, i.version || '–'),
      h('td', {}, h('span', {class: 'badge', 'data-state': i.ejected ? 'open' : 'closed'}, i.ejected ? 'ejected' : 'in rotation')),
      h('td', {class: 'num'}, num(i.in_flight, 0)), h('td', {class: 'num'}, i.latency_ms ? ms(i.latency_ms) : '–')))));
  if (rows === null) return notReported();
  if (rows.length === 0) return empty('This service calls no other service yet.');
  return table(targetHead(multi, ['service', 'instance', 'address', 'version', 'state', 'in flight', 'latency']), rows);
}

// Endpoints keeps each route's last HISTORY snapshots for its sparklines.
export class Endpoints {
  constructor() {
    this.series = new Map(); // target \u0000 method route -> {rate, err, p50, p99}
  }

  // record adds a snapshot of target; a route missing from it served
  // nothing in the window.
  record(target, snap) {
    if (!Array.isArray(snap.endpoints)) return;
    const seen = new Set();
    for (const e of snap.endpoints) {
      const key = `${target}\u0000${e.method} ${e.route}`;
      seen.add(key);
      let s = this.series.get(key);
      if (!s) this.series.set(key, (s = {rate: [], err: [], p50: [], p99: []}));
      push(s, e.rate, e.error_ratio * 100, e.p50_ms, e.p99_ms);
    }
    for (const [key, s] of this.series) {
      if (key.startsWith(`${target}\u0000`) && !seen.has(key)) push(s, 0, 0, 0, 0);
    }
  }

  render(snaps, multi) {
    const rows = per(snaps, 'endpoints', (target, endpoints) => endpoints.map((e) => {
      const s = this.series.get(`${target}\u0000${e.method} ${e.route}`) || {rate: [], err: [], p50: [], p99: []};
      const cell = (text, values, label) => h('td', {class: 'num'}, h('span', {class: 'spark-cell'}, h('span', {}, text), sparkline(values, label)));
      return h('tr', {class: e.errors > 0 ? 'warn' : null}, targetCell(multi, target),
        h('td', {}, h('code', {}, `${e.method} ${e.route}`)), h('td', {class: 'num'}, num(e.requests, 0)),
        cell(num(e.rate, 2), s.rate, 'requests per second'), cell(pct(e.error_ratio), s.err, 'error percentage'),
        cell(ms(e.p50_ms), s.p50, 'median latency'), cell(ms(e.p99_ms), s.p99, '99th percentile latency'));
    }));
    if (rows === null) return notReported();
    if (rows.length === 0) return empty('No requests in the last minute.');
    return table(targetHead(multi, ['route', 'requests', 'req/s', 'errors', 'p50', 'p99']), rows);
  }
}

function push(s, rate, err, p50, p99) {
  for (const [k, v] of [['rate', rate], ['err', err], ['p50', p50], ['p99', p99]]) {
    s[k].push(typeof v === 'number' ? v : 0);
    if (s[k].length > HISTORY) s[k].shift();
  }
}

// group renders the named lists of an object field (protection,
// messaging), one small table each.
function group(snaps, multi, field, parts) {
  const present = [...snaps.values()].some((snap) => snap[field] && typeof snap[field] === 'object');
  if (!present) return notReported();
  return parts.map(([key, title, head, row]) => {
    const rows = per(snaps, field, (target, obj) => (obj[key] || []).map((x) => h('tr', {}, targetCell(multi, target), row(x))));
    return h('div', {class: 'part'}, h('h3', {}, title),
      rows === null || rows.length === 0 ? empty('none') : table(targetHead(multi, head), rows));
  });
}

export function protection(snaps, multi) {
  return group(snaps, multi, 'protection', [
    ['budgets', 'Retry budgets', ['name', 'retries available', 'refused'], (b) => [
      h('td', {}, b.name), h('td', {class: 'num'}, meter(b.available, b.capacity, `${num(b.available, 0)} / ${num(b.capacity, 0)}`)),
      h('td', {class: 'num'}, num(b.refused, 0))]],
    ['rejections', 'Rejections', ['name', 'reason', 'count'], (r) => [
      h('td', {}, r.name), h('td', {}, r.reason), h('td', {class: 'num'}, num(r.count, 0))]],
    ['bulkheads', 'Bulkheads', ['name', 'in flight'], (b) => [
      h('td', {}, b.name), h('td', {class: 'num'}, meter(b.in_flight, b.capacity, `${num(b.in_flight, 0)} / ${num(b.capacity, 0)}`))]],
  ]);
}

export function messaging(snaps, multi) {
  return group(snaps, multi, 'messaging', [
    ['outboxes', 'Outboxes', ['name', 'pending', 'oldest', 'published', 'failures'], (o) => [
      h('td', {}, o.name), h('td', {class: 'num'}, num(o.pending, 0)), h('td', {class: 'num'}, ms(o.oldest_ms)),
      h('td', {class: 'num'}, num(o.published, 0)), h('td', {class: o.failures ? 'num bad' : 'num'}, num(o.failures, 0))]],
    ['consumers', 'Consumers', ['name', 'delivered', 'redelivered', 'dead-lettered', 'in flight'], (c) => [
      h('td', {}, c.name), h('td', {class: 'num'}, num(c.delivered, 0)), h('td', {class: 'num'}, num(c.redelivered, 0)),
      h('td', {class: c.dead_lettered ? 'num bad' : 'num'}, num(c.dead_lettered, 0)), h('td', {class: 'num'}, num(c.in_flight, 0))]],
    ['sagas', 'Sagas', ['name', 'running', 'compensating', 'stuck', 'completed', 'failed'], (g) => [
      h('td', {}, g.name), h('td', {class: 'num'}, num(g.running, 0)), h('td', {class: 'num'}, num(g.compensating, 0)),
      h('td', {class: g.stuck ? 'num bad' : 'num'}, num(g.stuck, 0)), h('td', {class: 'num'}, num(g.completed, 0)),
      h('td', {class: g.failed ? 'num bad' : 'num'}, num(g.failed, 0))]],
  ]);
}

// meter is a value with a bar showing it against max.
function meter(v, max, text) {
  const m = h('meter', {min: 0, max: max || 1, value: typeof v === 'number' ? v : 0});
  return h('span', {class: 'meter'}, m, h('span', {}, text));
}

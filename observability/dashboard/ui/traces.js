// The traces panel: recent slow and failed traces of every target, polled
// every few seconds; a click shows one trace's spans as a waterfall.

import {ApiError, request} from './api.js';
import {empty, h, ms, notReported, num, replace, table} from './dom.js';

const EVERY = 5000;
// The list shows at most this many failed and this many slow traces.
const SHOW_FAILED = 15;
const SHOW_SLOW = 10;

export class Traces {
  // targets() answers the current targets ({id, base}).
  constructor(listEl, detailEl, targets) {
    this.listEl = listEl;
    this.detailEl = detailEl;
    this.targets = targets;
    this.absent = new Set(); // targets that answered 404
    this.selected = '';
  }

  start() {
    const tick = async () => {
      await this.refresh();
      setTimeout(tick, EVERY);
    };
    tick();
  }

  async refresh() {
    const all = [];
    const errors = [];
    const ts = this.targets().filter((t) => t.up !== false && !this.absent.has(t.id));
    await Promise.all(ts.map(async (t) => {
      try {
        const answer = await request(`${t.base}/traces`);
        for (const tr of answer.traces || []) all.push({target: t, ...tr});
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) this.absent.add(t.id);
        else errors.push(`${t.id || 'service'}: ${err.message}`);
      }
    }));
    if (this.absent.size > 0 && this.absent.size === this.targets().length) return replace(this.listEl, notReported());
    // The newest failed traces first, then the slowest of the others.
    const failed = all.filter((tr) => tr.error).sort((a, b) => (a.start < b.start ? 1 : -1)).slice(0, SHOW_FAILED);
    const slow = all.filter((tr) => !tr.error).sort((a, b) => b.duration_ms - a.duration_ms).slice(0, SHOW_SLOW);
    const shown = [...failed, ...slow];
    const multi = this.targets().length > 1;
    const rows = shown.map((tr) => h('tr', {
      class: tr.trace_id === this.selected ? 'selected' : null, 'data-trace': tr.trace_id, tabindex: 0,
      onclick: () => this.show(tr.target, tr.trace_id),
      onkeydown: (e) => e.key === 'Enter' && this.show(tr.target, tr.trace_id),
    }, multi ? h('td', {}, tr.target.id) : null,
    h('td', {}, h('time', {datetime: tr.start}, new Date(tr.start).toLocaleTimeString())),
    h('td', {}, h('code', {}, tr.root)), h('td', {class: 'num'}, ms(tr.duration_ms)), h('td', {class: 'num'}, num(tr.spans, 0)),
    h('td', {}, tr.error ? h('span', {class: 'badge', 'data-state': 'open', title: tr.error_message || ''}, 'error') : 'ok')));
    const head = [...(multi ? ['target'] : []), 'start', 'root', 'duration', 'spans', 'status'];
    replace(this.listEl, errors.map((e) => h('p', {class: 'error'}, e)),
      rows.length ? table(head, rows) : empty('No slow or failed traces recorded yet.'),
      all.length > shown.length ? h('p', {class: 'muted'}, `${all.length - shown.length} more traces kept`) : null);
  }

  async show(target, id) {
    this.selected = id;
    for (const tr of this.listEl.querySelectorAll('tr[data-trace]')) tr.classList.toggle('selected', tr.dataset.trace === id);
    replace(this.detailEl, empty(`Loading trace ${id}…`));
    try {
      const t = await request(`${target.base}/traces/${encodeURIComponent(id)}`);
      replace(this.detailEl, waterfall(t));
    } catch (err) {
      replace(this.detailEl, h('p', {class: 'error'}, `Trace ${id}: ${err.message}`));
    }
  }
}

// waterfall draws spans as bars on one time axis, children under their
// parent; a click on a span shows its attributes and events.
function waterfall(t) {
  const spans = t.spans || [];
  const total = Math.max(1e-3, ...spans.map((s) => s.offset_ms + s.duration_ms));
  const children = new Map();
  const ids = new Set(spans.map((s) => s.span_id));
  for (const s of spans) {
    const p = ids.has(s.parent_id) ? s.parent_id : '';
    if (!children.has(p)) children.set(p, []);
    children.get(p).push(s);
  }
  const ordered = [];
  const walk = (parent, depth) => {
    for (const s of (children.get(parent) || []).sort((a, b) => a.offset_ms - b.offset_ms)) {
      ordered.push([s, depth]);
      walk(s.span_id, depth + 1);
    }
  };
  walk('', 0);
  const info = h('div', {class: 'span-info'});
  const rows = ordered.map(([s, depth]) => {
    const bar = h('span', {class: 'bar', 'data-status': s.status});
    bar.style.left = `${(s.offset_ms / total) * 100}%`;
    bar.style.width = `${Math.max(0.3, (s.duration_ms / total) * 100)}%`;
    const ticks = (s.events || []).map((e) => {
      const tick = h('span', {class: 'tick', title: `${e.name} at ${ms(e.offset_ms)}`});
      tick.style.left = `${(e.offset_ms / total) * 100}%`;
      return tick;
    });
    const label = h('span', {class: 'label'}, `${s.name} `, h('small', {}, `${s.kind} · ${ms(s.duration_ms)}`));
    label.style.paddingLeft = `${depth * 0.8}em`;
    return h('div', {class: 'wf-row', tabindex: 0, 'data-status': s.status, onclick: () => replace(info, details(s))},
      label, h('span', {class: 'track'}, bar, ticks));
  });
  return h('div', {}, h('h3', {}, `Trace ${t.trace_id} · ${ms(total)}`), h('div', {class: 'waterfall'}, rows), info);
}

function details(s) {
  const attrs = Object.entries(s.attributes || {}).map(([k, v]) => h('tr', {}, h('td', {}, k), h('td', {}, String(v))));
  const events = (s.events || []).map((e) => h('tr', {}, h('td', {}, e.name), h('td', {}, ms(e.offset_ms))));
  return [
    h('h3', {}, s.name),
    h('p', {}, `${s.kind} · ${s.status}${s.status_message ? `: ${s.status_message}` : ''} · starts at ${ms(s.offset_ms)}, lasts ${ms(s.duration_ms)}`),
    attrs.length ? table(['attribute', 'value'], attrs) : null,
    events.length ? table(['event', 'at'], events) : null,
  ];
}

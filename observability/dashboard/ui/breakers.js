// The breakers panel: one row per breaker and target, updated in place so
// that its buttons stay put between snapshots.

import {request} from './api.js';
import {empty, h, notReported, num, replace} from './dom.js';

const OVERRIDES = ['force-open', 'force-closed', 'auto'];

export class Breakers {
  // baseOf(target) is the API base of target ("api" or "api/t/<id>").
  constructor(el, baseOf) {
    this.el = el;
    this.baseOf = baseOf;
    this.rows = new Map(); // target \u0000 name -> row
    this.tbody = h('tbody');
    this.head = h('tr');
    this.table = h('div', {class: 'scroll'}, h('table', {class: 'breakers'}, h('thead', {}, this.head), this.tbody));
    this.main = h('div');
    this.logEl = h('div');
    this.mode = '';
    this.multi = null;
    this.changes = [];
    replace(el, this.main, this.logEl);
  }

  render(snaps) {
    const live = new Set();
    let reported = false;
    for (const [target, snap] of snaps) {
      if (!Array.isArray(snap.breakers)) continue;
      reported = true;
      for (const b of snap.breakers) {
        const key = `${target}\u0000${b.name}`;
        live.add(key);
        let row = this.rows.get(key);
        if (!row) {
          row = this.row(target, b.name);
          row.targetCell.hidden = !this.multi;
          this.rows.set(key, row);
        }
        update(row, b);
      }
    }
    for (const [key, row] of this.rows) {
      if (!live.has(key)) {
        row.tr.remove();
        this.rows.delete(key);
      }
    }
    const order = [...this.rows.keys()].sort().map((k) => this.rows.get(k).tr);
    if (order.some((tr, i) => this.tbody.children[i] !== tr)) this.tbody.replaceChildren(...order);
    const multi = snaps.size > 1;
    if (multi !== this.multi) {
      this.multi = multi;
      for (const row of this.rows.values()) row.targetCell.hidden = !multi;
      const head = ['name', 'state', 'override', 'requests', 'failures', 'in a row', 'next probe', 'operator'];
      replace(this.head, multi ? h('th', {}, 'target') : null, head.map((c) => h('th', {}, c)));
    }
    const mode = !reported ? 'absent' : this.rows.size === 0 ? 'empty' : 'table';
    if (mode !== this.mode) {
      this.mode = mode;
      replace(this.main, mode === 'absent' ? notReported()
        : mode === 'empty' ? empty('No breakers yet: this service calls no other service.') : this.table);
    }
    replace(this.logEl, this.log());
  }

  row(target, name) {
    const row = {target, name};
    const cell = (cls, label) => h('td', {class: cls, 'data-label': label});
    row.targetCell = h('td', {'data-label': 'target'}, target);
    row.state = h('span', {class: 'badge'});
    row.override = cell('', 'override');
    row.requests = cell('num', 'requests');
    row.failures = cell('num', 'failures');
    row.consecutive = cell('num', 'in a row');
    row.probe = cell('num', 'next probe');
    row.error = h('div', {class: 'error', role: 'alert'});
    row.buttons = OVERRIDES.map((o) => h('button', {type: 'button', 'data-override': o, onclick: () => this.set(row, o)}, o));
    row.tr = h('tr', {'data-breaker': name, 'data-target': target}, row.targetCell, h('td', {class: 'name'}, h('code', {}, name)),
      h('td', {class: 'state'}, row.state), row.override, row.requests, row.failures, row.consecutive, row.probe,
      h('td', {class: 'actions'}, h('div', {class: 'buttons'}, row.buttons), row.error));
    return row;
  }

  // set PUTs an override and shows the answer at once, or its error.
  async set(row, override) {
    row.error.textContent = '';
    for (const b of row.buttons) b.disabled = true;
    try {
      const answer = await request(`${this.baseOf(row.target)}/breakers/${encodeURIComponent(row.name)}/override`, {method: 'PUT', body: {override}});
      const b = (answer.breakers || [])[0];
      if (b) update(row, b);
    } catch (err) {
      row.error.textContent = `could not set ${override}: ${err.message}`;
    } finally {
      for (const b of row.buttons) b.disabled = false;
    }
  }

  // change records an event "breaker" of target.
  change(target, e) {
    this.changes.unshift({target, ...e});
    this.changes.length = Math.min(this.changes.length, 8);
  }

  log() {
    if (this.changes.length === 0) return null;
    return h('div', {class: 'part'}, h('h3', {}, 'Recent changes'), h('ul', {class: 'changes'},
      this.changes.map((c) => h('li', {},
        h('time', {datetime: c.at}, new Date(c.at).toLocaleTimeString()), ' ', h('code', {}, c.breaker), ' ',
        h('span', {class: 'badge', 'data-state': c.from}, c.from), ' → ', h('span', {class: 'badge', 'data-state': c.to}, c.to),
        c.reason ? ` ${c.reason}` : ''))));
  }
}

function update(row, b) {
  row.tr.dataset.state = b.state;
  row.tr.dataset.override = b.override;
  row.state.dataset.state = b.state;
  row.state.textContent = b.state;
  row.override.textContent = b.override;
  row.requests.textContent = num(b.requests, 0);
  row.failures.textContent = num(b.failures, 0);
  row.consecutive.textContent = num(b.consecutive_failures, 0);
  row.probe.textContent = b.probe_in_ms > 0 ? `in ${num(b.probe_in_ms / 1000, 1)} s` : '–';
  for (const btn of row.buttons) btn.setAttribute('aria-pressed', String(btn.dataset.override === b.override));
}

// The API explorer: the operations of a target's OpenAPI document, and a
// form that sends one through the target's /try.

import {ApiError, request} from './api.js';
import {empty, h, ms, notReported, replace} from './dom.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

export class Explorer {
  constructor(el, targets) {
    this.el = el;
    this.targets = targets;
    this.target = null;
  }

  // load lists the operations of the first target, or of the one chosen.
  async load(target) {
    const ts = this.targets();
    this.target = target || this.target || ts[0];
    const pick = ts.length > 1 ? h('label', {}, 'Service ', h('select', {
      onchange: (e) => this.load(ts.find((t) => t.id === e.target.value)),
    }, ts.map((t) => h('option', {value: t.id, selected: t === this.target}, t.id)))) : null;
    let doc;
    try {
      doc = await request(`${this.target.base}/openapi`);
    } catch (err) {
      const why = err instanceof ApiError && err.status === 404 ? notReported() : h('p', {class: 'error'}, err.message);
      return replace(this.el, pick, why);
    }
    const ops = [];
    for (const [path, item] of Object.entries(doc.paths || {})) {
      for (const m of METHODS) if (item[m]) ops.push({method: m.toUpperCase(), path, summary: item[m].summary || item[m].operationId || ''});
    }
    const method = h('select', {'aria-label': 'method'}, METHODS.map((m) => h('option', {}, m.toUpperCase())));
    const path = h('input', {'aria-label': 'path', value: ops[0] ? ops[0].path : '/', spellcheck: 'false'});
    const headers = h('textarea', {'aria-label': 'headers', rows: 2, placeholder: 'headers, one a line: Authorization: Bearer …', spellcheck: 'false'});
    const body = h('textarea', {'aria-label': 'body', rows: 4, placeholder: 'request body (JSON)', spellcheck: 'false'});
    const out = h('div', {class: 'try-out'});
    const choose = (op) => {
      method.value = op.method;
      path.value = op.path;
      path.focus();
    };
    const list = ops.length ? h('ul', {class: 'ops'}, ops.map((op) => h('li', {},
      h('button', {type: 'button', class: 'link', onclick: () => choose(op)},
        h('span', {class: 'method', 'data-method': op.method}, op.method), ' ', h('code', {}, op.path)),
      op.summary ? h('small', {}, ` ${op.summary}`) : null))) : empty('The document lists no operations.');
    const form = h('form', {class: 'try', onsubmit: (e) => {
      e.preventDefault();
      this.send(method.value, path.value, headers.value, body.value, out);
    }}, h('div', {class: 'row'}, method, path, h('button', {type: 'submit'}, 'Send')), headers, body, out);
    replace(this.el, pick, h('p', {}, doc.info ? `${doc.info.title || ''} ${doc.info.version || ''}` : ''), list, form);
  }

  async send(method, path, headerLines, body, out) {
    replace(out, empty('Sending…'));
    const headers = body ? {'Content-Type': 'application/json'} : {};
    for (const line of headerLines.split('\n')) {
      const at = line.indexOf(':');
      if (at > 0) headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
    const req = {method, path, headers, body};
    try {
      const r = await request(`${this.target.base}/try`, {method: 'POST', body: req});
      let text = r.body || '';
      try {
        text = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        // not JSON: shown as it came
      }
      replace(out, h('p', {}, h('span', {class: 'badge', 'data-state': r.status < 400 ? 'closed' : 'open'}, String(r.status)), ` in ${ms(r.duration_ms)}`),
        h('pre', {}, Object.entries(r.headers || {}).map(([k, v]) => `${k}: ${v}`).join('\n')), h('pre', {}, text));
    } catch (err) {
      replace(out, h('p', {class: 'error'}, err.message));
    }
  }
}

// The dashboard page: finds its targets, reads one event stream, and
// keeps every panel up to date.

import {ApiError, request, takeTokenFromURL} from './api.js';
import {Breakers} from './breakers.js';
import {h, replace} from './dom.js';
import {Explorer} from './explorer.js';
import {Endpoints, instances, messaging, protection, topology} from './panels.js';
import {connect} from './sse.js';
import {Traces} from './traces.js';

const $ = (id) => document.getElementById(id);

const state = {
  targets: [], // {id, service, base, up}
  single: false, // the service has no api/targets: one target, base "api"
  snaps: new Map(), // target id -> latest snapshot
};

function baseOf(target) {
  const t = state.targets.find((x) => x.id === target);
  if (t) return t.base;
  return state.single ? 'api' : `api/t/${encodeURIComponent(target)}`;
}

const breakers = new Breakers($('breakers'), baseOf);
const endpoints = new Endpoints();
const traces = new Traces($('traces'), $('trace'), () => state.targets);
const explorer = new Explorer($('explorer'), () => state.targets);

function setStatus(status, detail) {
  const el = $('status');
  el.dataset.status = status;
  el.textContent = {connecting: 'connecting…', live: 'live', retrying: 'reconnecting', unauthorized: 'needs token', error: 'error'}[status] || status;
  el.title = detail || '';
  $('status-detail').textContent = detail || '';
}

// Targets that come and go while the page is open: a hub's are listed
// again this often.
const RELIST = 15000;

async function listTargets() {
  const answer = await request('api/targets');
  state.targets = (answer.targets || []).map(({id, service, base, up}) => ({id, service, base, up}));
}

async function loadTargets() {
  for (let delay = 1000; ; delay = Math.min(delay * 2, 15000)) {
    try {
      await listTargets();
      return;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        state.single = true;
        state.targets = [{id: '', service: '', base: 'api', up: true}];
        return;
      }
      setStatus('error', `cannot list the services: ${err.message}; retrying`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

// targetOf names the target an event came from.
function targetOf(data) {
  if (state.single) {
    const t = state.targets[0];
    if (!t.id) {
      t.id = data.target || data.service || 'service'; // a service that does not name itself
      t.service = data.service || '';
    }
    return t.id;
  }
  return data.target || data.service || '';
}

function onEvent(type, data) {
  const target = targetOf(data);
  if (type === 'target') {
    // A hub says a target's stream was cut (its last snapshot no longer
    // holds) or is back.
    const t = state.targets.find((x) => x.id === target);
    if (t) t.up = data.up;
    else listTargets().catch(() => {});
    if (!data.up) state.snaps.delete(target);
    return;
  }
  if (type === 'breaker') {
    breakers.change(target, data);
    return;
  }
  if (type !== 'snapshot') return;
  state.snaps.set(target, data);
  endpoints.record(target, data);
  render(data);
}

function render(last) {
  const snaps = state.snaps;
  const multi = snaps.size > 1;
  breakers.render(snaps);
  replace($('topology'), topology(snaps, multi));
  replace($('instances'), instances(snaps, multi));
  replace($('endpoints'), endpoints.render(snaps, multi));
  replace($('protection'), protection(snaps, multi));
  replace($('messaging'), messaging(snaps, multi));
  const names = state.single ? [state.targets[0].service] : state.targets.map((t) => t.id);
  const title = names.filter(Boolean).join(', ') || 'dashboard';
  $('service').textContent = title;
  document.title = `${title} · tailor`;
  replace($('targets'), state.single ? null : state.targets.map((t) =>
    h('span', {class: 'badge', 'data-state': t.up ? 'closed' : 'open', title: t.base}, t.id)));
  $('updated').textContent = last.at ? `updated ${new Date(last.at).toLocaleTimeString()}` : '';
}

async function main() {
  takeTokenFromURL();
  setStatus('connecting', 'listing the services');
  await loadTargets();
  connect('api/stream', onEvent, setStatus);
  if (!state.single) setInterval(() => listTargets().catch(() => {}), RELIST);
  traces.start();
  explorer.load();
}

main();

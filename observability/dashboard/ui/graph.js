// The topology graph: services as boxes in columns, callers left of what
// they call, one arrow per caller and callee, its colour the error rate
// and its width the request rate. Edges of several instances of a
// service add up.

import {ms, pct, s} from './dom.js';

const COL = 170; // px between columns
const ROW = 46; // px between rows
const BOX = {w: 120, h: 26};

export function graph(snaps) {
  const edges = new Map();
  for (const snap of snaps.values()) {
    for (const e of snap.edges || []) {
      const key = `${e.from}\u0000${e.to}`;
      const sum = edges.get(key) || {from: e.from, to: e.to, rate: 0, requests: 0, errors: 0, p99: 0};
      sum.rate += e.rate;
      sum.requests += e.requests;
      sum.errors += e.errors;
      sum.p99 = Math.max(sum.p99, e.p99_ms);
      edges.set(key, sum);
    }
  }
  if (edges.size === 0) return null;
  // Each service's column is the longest chain of callers before it.
  const names = new Set();
  for (const e of edges.values()) names.add(e.from).add(e.to);
  const col = new Map([...names].map((n) => [n, 0]));
  for (let pass = 0; pass < names.size; pass++) {
    for (const e of edges.values()) {
      if (e.from !== e.to && col.get(e.to) < col.get(e.from) + 1 && col.get(e.from) + 1 < names.size) col.set(e.to, col.get(e.from) + 1);
    }
  }
  const rows = new Map();
  const at = new Map();
  for (const n of [...names].sort()) {
    const c = col.get(n);
    const r = rows.get(c) || 0;
    rows.set(c, r + 1);
    at.set(n, {x: 8 + c * COL, y: 8 + r * ROW});
  }
  const width = 16 + Math.max(...col.values()) * COL + BOX.w;
  const height = 16 + (Math.max(...rows.values()) - 1) * ROW + BOX.h;
  const arrows = [...edges.values()].map((e) => {
    const a = at.get(e.from);
    const b = at.get(e.to);
    const ratio = e.requests ? e.errors / e.requests : 0;
    const x1 = a.x + BOX.w;
    const y1 = a.y + BOX.h / 2;
    const x2 = b.x;
    const y2 = b.y + BOX.h / 2;
    const mid = (x1 + x2) / 2;
    return s('path', {
      class: 'edge', 'data-health': ratio > 0.05 ? 'bad' : ratio > 0 ? 'warn' : 'ok',
      d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2 - 4},${y2}`,
      'stroke-width': (1 + Math.min(5, Math.log2(1 + e.rate))).toFixed(1), 'marker-end': 'url(#arrow)',
    }, s('title', {}, `${e.from} → ${e.to}: ${e.rate.toFixed(2)}/s, ${pct(ratio)} errors, p99 ${ms(e.p99)}`));
  });
  const boxes = [...at.entries()].map(([n, p]) => s('g', {class: 'node', transform: `translate(${p.x},${p.y})`},
    s('rect', {width: BOX.w, height: BOX.h, rx: 5}), s('text', {x: BOX.w / 2, y: BOX.h / 2 + 4, 'text-anchor': 'middle'}, n)));
  return s('svg', {class: 'graph', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'calls between services'},
    s('defs', {}, s('marker', {id: 'arrow', viewBox: '0 0 8 8', refX: 7, refY: 4, markerWidth: 6, markerHeight: 6, orient: 'auto'},
      s('path', {d: 'M0,0 L8,4 L0,8 z', class: 'arrow'}))),
    arrows, boxes);
}

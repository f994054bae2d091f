// Small DOM helpers. Everything shown goes through textContent or
// attributes: data never becomes markup.

const SVG = 'http://www.w3.org/2000/svg';

// h makes an element: h('td', {class: 'num', 'data-x': 1}, 'text', child).
// Attributes starting with "on" take a listener.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  return fill(el, attrs, children);
}

// s makes an SVG element, as h does.
export function s(tag, attrs, ...children) {
  return fill(document.createElementNS(SVG, tag), attrs, children);
}

function fill(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

// replace sets el's children.
export function replace(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== undefined && c !== null && c !== false));
}

// table makes a table with a header row and rows, wrapped so that a wide
// table scrolls by itself on a narrow screen.
export function table(head, rows) {
  return h('div', {class: 'scroll'},
    h('table', {},
      h('thead', {}, h('tr', {}, head.map((c) => h('th', {}, c)))),
      h('tbody', {}, rows)));
}

// notReported is what a panel says when its field is absent.
export function notReported() {
  return h('p', {class: 'muted', 'data-absent': ''}, 'not reported by this service');
}

export function empty(text) {
  return h('p', {class: 'muted'}, text);
}

// num formats a number for a cell, with at most digits decimals.
export function num(v, digits = 1) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '–';
  return v.toLocaleString('en', {maximumFractionDigits: digits});
}

export function ms(v) {
  return typeof v === 'number' ? `${num(v, v < 10 ? 2 : 1)} ms` : '–';
}

export function pct(ratio) {
  return typeof ratio === 'number' ? `${num(ratio * 100, 1)} %` : '–';
}

// sparkline draws values (oldest first) as a small SVG line; a flat or
// single-point series draws a flat line.
export function sparkline(values, label) {
  const w = 80, hgt = 20;
  const svg = s('svg', {class: 'spark', viewBox: `0 0 ${w} ${hgt}`, width: w, height: hgt, role: 'img', 'aria-label': label});
  if (values.length === 0) return svg;
  const max = Math.max(...values), min = Math.min(0, ...values);
  const span = max - min || 1;
  const step = values.length > 1 ? w / (values.length - 1) : 0;
  const pts = values.map((v, i) => `${(i * step).toFixed(1)},${(hgt - 1 - ((v - min) / span) * (hgt - 2)).toFixed(1)}`);
  if (values.length === 1) pts.push(`${w},${pts[0].split(',')[1]}`);
  svg.append(s('polyline', {points: pts.join(' ')}));
  return svg;
}

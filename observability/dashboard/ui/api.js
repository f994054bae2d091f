// Talking to the dashboard API: the admin token and JSON requests.

const KEY = 'tailor-dash-token';

// An ApiError is an answer that was not 2xx, with the problem's detail.
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// takeTokenFromURL keeps a #token=… fragment in sessionStorage and removes
// it from the address bar and history.
export function takeTokenFromURL() {
  const params = new URLSearchParams(location.hash.slice(1));
  const t = params.get('token');
  if (t === null) return;
  sessionStorage.setItem(KEY, t);
  params.delete('token');
  const rest = params.toString();
  history.replaceState(null, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
}

export function token() {
  return sessionStorage.getItem(KEY) || '';
}

export function authHeaders(extra) {
  const h = new Headers(extra || {});
  const t = token();
  if (t) h.set('Authorization', `Bearer ${t}`);
  return h;
}

let asking = null;

// askToken shows the token form once, however many requests were refused,
// and resolves when the operator has given a token.
export function askToken(reason) {
  if (asking) return asking;
  const form = document.getElementById('login');
  const input = form.querySelector('input');
  document.getElementById('login-reason').textContent = reason;
  form.hidden = false;
  input.focus();
  asking = new Promise((resolve) => {
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      sessionStorage.setItem(KEY, input.value.trim());
      input.value = '';
      form.hidden = true;
      asking = null;
      resolve();
    }, {once: true});
  });
  return asking;
}

// problem reads an error answer's message.
export async function problem(resp) {
  let text = `${resp.status} ${resp.statusText}`;
  try {
    const p = await resp.json();
    text = p.detail || p.title || text;
  } catch {
    // not JSON: the status line says enough
  }
  return new ApiError(resp.status, text);
}

// request sends one API request and answers its JSON; on 401 it asks for
// the token and tries again.
export async function request(path, {method = 'GET', body} = {}) {
  for (;;) {
    const headers = authHeaders(body === undefined ? {} : {'Content-Type': 'application/json'});
    const resp = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store'});
    if (resp.status === 401) {
      await askToken(token() ? 'The admin token was refused; enter the right one.' : 'This service needs its admin token.');
      continue;
    }
    if (!resp.ok) throw await problem(resp);
    return resp.json();
  }
}

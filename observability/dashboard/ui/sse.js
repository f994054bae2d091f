// One server-sent event stream read with fetch(), which, unlike
// EventSource, can send the Authorization header; it reconnects with
// backoff and reports its state.

import {askToken, authHeaders, problem} from './api.js';

// eventParser answers a function that reads text/event-stream text in
// chunks of any size and calls onEvent(type, data) for each complete
// event.
export function eventParser(onEvent) {
  let buf = '', type = '', data = [];
  return (chunk) => {
    buf += chunk;
    let nl;
    while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
      if (nl === buf.length - 1 && buf[nl] === '\r') break; // perhaps the first half of \r\n
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + (buf.startsWith('\r\n', nl) ? 2 : 1));
      if (line === '') {
        if (data.length) onEvent(type || 'message', data.join('\n'));
        type = '';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue; // a comment
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
    }
  };
}

// connect reads url until stop() is called, calling onEvent(type, data)
// with each event's parsed JSON data and onStatus(state, detail) with
// "connecting", "live", "retrying" or "unauthorized". After a failure it
// waits 0.5 s, doubling up to 15 s, with jitter; a live stream resets it.
export function connect(url, onEvent, onStatus) {
  let stopped = false, ctrl = null, delay = 500;
  const sleep = (d) => new Promise((r) => setTimeout(r, d));
  (async () => {
    while (!stopped) {
      ctrl = new AbortController();
      onStatus('connecting', '');
      let reason;
      try {
        const resp = await fetch(url, {headers: authHeaders({Accept: 'text/event-stream'}), signal: ctrl.signal, cache: 'no-store'});
        if (resp.status === 401) {
          onStatus('unauthorized', 'waiting for the admin token');
          await askToken('This service needs its admin token.');
          continue;
        }
        if (!resp.ok) throw await problem(resp);
        const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
        const feed = eventParser((type, data) => {
          let v;
          try {
            v = JSON.parse(data);
          } catch {
            return; // not JSON: not an event of this API
          }
          delay = 500;
          onStatus('live', '');
          onEvent(type, v);
        });
        for (;;) {
          const {value, done} = await reader.read();
          if (done) break;
          feed(value);
        }
        reason = 'the stream ended';
      } catch (err) {
        if (stopped) return;
        reason = err.message || String(err);
      }
      const wait = delay * (0.8 + Math.random() * 0.4);
      onStatus('retrying', `${reason}; reconnecting in ${(wait / 1000).toFixed(1)} s`);
      await sleep(wait);
      delay = Math.min(delay * 2, 15000);
    }
  })();
  return () => {
    stopped = true;
    if (ctrl) ctrl.abort();
  };
}

// Development only: serves dist/ like `vane serve` does and proxies everything else to a running vane server.
// For a vane binary without the dashboard routes it fakes them:
//   GET /v1/users?q=&n=          users u0..u{users-1} (the generated demo data) and any id seen in posted events
//   GET /v1/users/{id}/events    the events posted through this server (older history is unknown here)
//   GET /v1/users/{id}/interests the real answer plus a "graph" built from its categories and keywords
//   GET /v1/stream/users/{id}    SSE "state" messages: at connect, after each event posted here, every 10 s
// With a vane that has the routes, run with REAL=1 to proxy them unchanged.
//   VANE=http://127.0.0.1:18300 PORT=18380 node dev-server.mjs
import http from 'node:http';
import { Readable } from 'node:stream';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const VANE = process.env.VANE || 'http://127.0.0.1:18300';
const PORT = Number(process.env.PORT || 18380);
const FAKE = !process.env.REAL;
const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), 'dist');
const FILES = { '/': ['index.html', 'text/html'], '/assets/app.js': ['app.js', 'text/javascript'], '/assets/app.css': ['app.css', 'text/css'] };

const posted = new Map(); // user -> events posted through this server, newest first
const streams = new Map(); // user -> Set of functions that push a state
let seq = 0;

async function vane(route, init = {}) {
  const res = await fetch(VANE + route, init);
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

async function vaneJson(route, headers) {
  const r = await vane(route, { headers });
  if (r.status !== 200) throw Object.assign(new Error('upstream'), { upstream: r });
  return JSON.parse(r.body);
}

function send(res, status, body, type = 'application/json') {
  res.writeHead(status, { 'Content-Type': type });
  res.end(typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
}

/** The graph of the new API, made up from the interests JSON of the old one. */
function fakeGraph(it) {
  const nodes = new Map();
  for (const list of [it.now, it.usually, it.rising, it.fading]) {
    for (const c of list || []) nodes.set('c:' + c.category, { id: 'c:' + c.category, kind: 'category', name: c.category, s: c.now_share, l: c.usual_share });
  }
  (it.keywords_now || []).forEach((k, i) => nodes.set('k:' + k, { id: 'k:' + k, kind: 'keyword', name: k, s: 0.6 / (i + 1), l: 0 }));
  const from = it.now?.[0] || it.usually?.[0];
  const edges = from ? (it.likely_next || []).map((n) => ({ from: 'c:' + from.category, to: 'c:' + n.category, count: Math.max(1, Math.round(n.probability * 100)) })) : [];
  for (const e of edges) if (!nodes.has(e.to)) nodes.set(e.to, { id: e.to, kind: 'category', name: e.to.slice(2), s: 0, l: 0 });
  return { nodes: [...nodes.values()], edges };
}

async function interests(user, headers) {
  const it = await vaneJson(`/v1/users/${encodeURIComponent(user)}/interests`, headers);
  return { ...it, graph: fakeGraph(it) };
}

async function state(user, n, headers) {
  const [it, rec] = await Promise.all([interests(user, headers), vaneJson(`/v1/recommend/${encodeURIComponent(user)}?n=${n}`, headers)]);
  return { user, version: seq, interests: it, recommend: rec, events: (posted.get(user) || []).slice(0, 20) };
}

async function users(q, n) {
  const stats = await vaneJson('/v1/stats');
  const ids = new Set([...Array(stats.users).keys()].map((i) => 'u' + i).concat([...posted.keys()]));
  const matches = [...ids].filter((id) => id.includes(q));
  const found = await Promise.all(matches.map((id) => vane(`/v1/users/${encodeURIComponent(id)}`).then((r) => (r.status === 200 ? JSON.parse(r.body) : null))));
  return found.filter(Boolean).sort((a, b) => b.last_ts - a.last_ts).slice(0, n);
}

async function stream(req, res, user, n) {
  const headers = { 'x-api-key': req.headers['x-api-key'] || new URL(req.url, 'http://x').searchParams.get('api_key') || '' };
  try {
    await vaneJson(`/v1/users/${encodeURIComponent(user)}`, headers);
  } catch (e) {
    return send(res, e.upstream?.status || 502, e.upstream?.body || { error: { code: 'upstream', message: e.message } });
  }
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  const push = async () => {
    try {
      res.write(`event: state\ndata: ${JSON.stringify(await state(user, n, headers))}\n\n`);
    } catch (e) {
      res.write(`: upstream failed: ${e.message}\n\n`);
    }
  };
  if (!streams.has(user)) streams.set(user, new Set());
  streams.get(user).add(push);
  const heartbeat = setInterval(push, 10000);
  const ping = setInterval(() => res.write(': ping\n\n'), 15000);
  req.on('close', () => {
    clearInterval(heartbeat);
    clearInterval(ping);
    streams.get(user).delete(push);
  });
  push();
}

/** Forwards the request; events posted are remembered (with item titles) and wake the user's streams. */
async function proxy(req, res, body) {
  const headers = { ...req.headers };
  delete headers.host;
  const ac = new AbortController();
  req.on('close', () => ac.abort()); // the browser went away: so does the upstream request (streams)
  const r = await fetch(VANE + req.url, { method: req.method, headers, body: body.length ? body : undefined, signal: ac.signal });
  res.writeHead(r.status, { 'Content-Type': r.headers.get('content-type') || 'application/octet-stream', 'Cache-Control': 'no-cache' });
  if (r.body) Readable.fromWeb(r.body).on('error', () => res.end()).pipe(res); // streamed: SSE passes through
  else res.end();
  if (!FAKE || req.method !== 'POST' || !req.url.startsWith('/v1/events') || r.status !== 200) return;
  const batch = JSON.parse(body);
  for (const ev of Array.isArray(batch) ? batch : batch.events) {
    const item = ev.item ? await vane(`/v1/items/${encodeURIComponent(ev.item)}`) : null;
    const title = item?.status === 200 ? JSON.parse(item.body).title : '';
    const list = posted.get(ev.user) || [];
    list.unshift({ seq: ++seq, item: ev.item || '', title, action: ev.action, query: ev.query || '', ts: Math.floor(Date.now() / 1000), value: ev.value || 0 });
    posted.set(ev.user, list);
    for (const push of streams.get(ev.user) || []) push();
  }
}

http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = Buffer.concat(chunks);
  try {
    if (req.method === 'GET' && FILES[url.pathname]) {
      const [file, type] = FILES[url.pathname];
      return send(res, 200, await readFile(path.join(dist, file)), type);
    }
    let m;
    const n = Number(url.searchParams.get('n') || 10);
    if (FAKE && req.method === 'GET' && url.pathname === '/v1/users') return send(res, 200, { users: await users(url.searchParams.get('q') || '', n) });
    if (FAKE && (m = url.pathname.match(/^\/v1\/users\/([^/]+)\/events$/))) {
      const user = decodeURIComponent(m[1]);
      return send(res, 200, { user, events: (posted.get(user) || []).slice(0, n) });
    }
    if (FAKE && (m = url.pathname.match(/^\/v1\/users\/([^/]+)\/interests$/))) return send(res, 200, await interests(decodeURIComponent(m[1]), req.headers));
    if (FAKE && (m = url.pathname.match(/^\/v1\/stream\/users\/([^/]+)$/))) return stream(req, res, decodeURIComponent(m[1]), n);
    return proxy(req, res, body);
  } catch (e) {
    if (e.upstream) return send(res, e.upstream.status, e.upstream.body);
    send(res, 502, { error: { code: 'dev_server', message: e.message } });
  }
}).listen(PORT, '127.0.0.1', () => console.log(`dev server on http://127.0.0.1:${PORT}/ → ${VANE}${FAKE ? ' (faking the dashboard routes)' : ''}`));

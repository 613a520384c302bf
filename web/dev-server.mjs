// Development only: serves dist/ as `vane serve` does and proxies every other route (server-sent events included)
// to a running vane, so a change to the page needs `npm run build` and a reload, not a rebuild of the server.
//   VANE=http://127.0.0.1:8087 PORT=18380 node dev-server.mjs
import http from 'node:http';
import { Readable } from 'node:stream';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const VANE = process.env.VANE || 'http://127.0.0.1:8087';
const PORT = Number(process.env.PORT || 18380);
const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), 'dist');
const FILES = { '/': ['index.html', 'text/html'], '/assets/app.js': ['app.js', 'text/javascript'], '/assets/app.css': ['app.css', 'text/css'] };

async function proxy(req, res, body) {
  const headers = { ...req.headers };
  delete headers.host;
  const ac = new AbortController();
  req.on('close', () => ac.abort()); // the browser went away: so does the upstream request (streams)
  const r = await fetch(VANE + req.url, { method: req.method, headers, body: body.length ? body : undefined, signal: ac.signal });
  res.writeHead(r.status, { 'Content-Type': r.headers.get('content-type') || 'application/octet-stream', 'Cache-Control': 'no-cache' });
  if (r.body) Readable.fromWeb(r.body).on('error', () => res.end()).pipe(res); // streamed: SSE passes through
  else res.end();
}

http.createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = Buffer.concat(chunks);
  try {
    const file = FILES[new URL(req.url, 'http://x').pathname];
    if (req.method === 'GET' && file) {
      res.writeHead(200, { 'Content-Type': `${file[1]}; charset=utf-8`, 'Cache-Control': 'no-cache' });
      return res.end(await readFile(path.join(dist, file[0])));
    }
    return await proxy(req, res, body);
  } catch (e) {
    if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'dev_proxy', message: String(e) } }));
  }
}).listen(PORT, '127.0.0.1', () => console.log(`dev server on http://127.0.0.1:${PORT}/ → ${VANE}`));

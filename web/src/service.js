// "Service": counts, online CTR per strategy / variant, ingestion rate and latency per route, every 2 s.
import { api } from './api.js';
import { h, $, num, pct, bytes } from './util.js';
import { LineChart, History } from './charts.js';
import { parseProm, histograms, histogramDelta, quantileBounds } from './prom.js';
import { strategyName, sourceName } from './labels.js';
import { shortPosition } from './cluster.js';

const INTERVAL_MS = 2000;
const KEEP = 150; // points per chart (5 min)
const LATENCY = 'vane_http_request_seconds';
// Streams stay open for minutes: their "latency" is a connection's lifetime, kept out of the latency charts.
const isStream = (route) => route.includes('/stream/');
// Routes are told apart by method too (GET and DELETE of a user are two lines).
const routeKey = (l) => (l.route === undefined ? undefined : l.method ? `${l.method} ${l.route}` : l.route);

let charts;
let history;
let prev = null; // the previous scrape: {t, accepted, hist}
let visible = false;
let generation = 0; // a new schedule() ends the polling loop of the previous one

export function initService() {
  charts = {
    rate: new LineChart($('#rate-chart'), { label: 'Accepted events per second over time', height: 160 }),
    p50: new LineChart($('#p50-chart'), { label: 'Median latency per route over time, in milliseconds', height: 160 }),
    p99: new LineChart($('#p99-chart'), { label: '99th percentile latency per route over time, in milliseconds', height: 160 }),
    lag: new LineChart($('#lag-chart'), { label: 'Replication lag of this node over time, in milliseconds', height: 120 }),
  };
  history = { rate: new History(KEEP), p50: new History(KEEP), p99: new History(KEEP), lag: new History(KEEP) };
  document.addEventListener('visibilitychange', schedule);
}

export function showService(on) {
  visible = on;
  schedule();
}

/** Polls while the tab is shown and the page visible. */
function schedule() {
  const mine = ++generation;
  if (!visible || document.hidden) return;
  const loop = async () => {
    await poll();
    if (mine === generation) setTimeout(() => mine === generation && loop(), INTERVAL_MS);
  };
  loop();
}

async function poll() {
  const error = $('#service-error');
  try {
    const [stats, metrics] = await Promise.all([api('/v1/stats'), api('/metrics', { text: true })]);
    update(stats, parseProm(metrics));
    error.hidden = true;
  } catch (e) {
    error.textContent = e.message;
    error.hidden = false;
  }
}

function update(stats, samples) {
  const t = Date.now() / 1000;
  const hist = histograms(samples, LATENCY, routeKey);
  renderCounts(stats);
  renderCluster(stats.cluster, t);
  renderOnline('#by-strategy', stats.online?.by_strategy, strategyName);
  renderOnline('#by-variant', stats.online?.by_variant);
  renderOnline('#by-source', stats.online?.by_source, sourceName);
  renderOnline('#by-strategy-dashboard', stats.online_dashboard?.by_strategy, strategyName);
  renderRoutes(samples, hist);

  if (prev) {
    const dt = t - prev.t;
    history.rate.push(t, new Map([['events/s', Math.max(0, (stats.accepted - prev.accepted) / dt)]]));
    // Latency of the requests of this interval: the difference of two cumulative histograms.
    const p50 = new Map();
    const p99 = new Map();
    for (const [route, hNow] of Object.entries(hist)) {
      if (isStream(route)) continue;
      const d = histogramDelta(hNow, prev.hist[route]);
      p50.set(route, ms(quantileBounds(0.5, d)?.hi));
      p99.set(route, ms(quantileBounds(0.99, d)?.hi));
    }
    history.p50.push(t, p50);
    history.p99.push(t, p99);
    charts.rate.set([{ label: 'events/s' }], history.rate.data(['events/s']));
    for (const q of ['p50', 'p99']) {
      const routes = [...history[q].values.keys()].sort();
      charts[q].set(routes.map((r) => ({ label: r })), history[q].data(routes));
    }
  }
  prev = { t, accepted: stats.accepted, hist };
}

const ms = (seconds) => (seconds == null ? null : seconds * 1000);

/** A quantile as the histogram knows it: "≤ hi" (a bound that holds, not an estimate), the bucket in the tooltip. */
function boundCell(b) {
  if (!b) return h('td', { class: 'n' }, '–');
  return h('td', { class: 'n', title: `between ${num(ms(b.lo), 2)} and ${num(ms(b.hi), 2)} ms (${num(b.n)} requests): bounds from the histogram buckets and the sum` },
    `≤ ${num(ms(b.hi), 2)}`);
}

function renderCounts(s) {
  const rows = [
    ['events', num(s.events)], ['users', num(s.users)], ['items', num(s.items)],
    ['accepted', num(s.accepted)], ['rejected', num(s.rejected)], ['duplicates', num(s.duplicates)],
    ['events in memory', num(s.events_in_memory)], ['state', bytes(s.state_bytes)], ['store', bytes(s.store_bytes)],
    ['model version', s.model_version || 'none'],
  ];
  $('#counts').replaceChildren(...rows.map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v))));
}

/** The cluster card: shown only in cluster mode (stats.cluster is null otherwise). */
function renderCluster(c, t) {
  const card = $('#cluster-card');
  card.hidden = !c;
  if (!c) return;
  const err = $('#cluster-error');
  err.hidden = !c.error;
  err.textContent = c.error ? `This node has stopped applying the log: ${c.error}` : '';
  const rows = [
    ['lag', `${num(Math.round(c.lag_ms))} ms`],
    ['applying', c.error ? 'stopped' : 'yes'],
    ['log position', shortPosition(c.position)],
    ['malformed entries skipped', num(c.log_rejected)],
    ['started from a snapshot', c.restore_seconds > 0 ? `yes (${c.restore_seconds.toFixed(2)} s)` : 'no'],
    ['snapshots written here', num(c.snapshots_written)],
    ['last snapshot', c.snapshot_bytes ? bytes(c.snapshot_bytes) : '–'],
    ['log entries trimmed here', num(c.trimmed_entries)],
  ];
  $('#cluster-counts').replaceChildren(...rows.map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', { title: k === 'log position' ? c.position : '' }, v))));
  history.lag.push(t, new Map([['lag ms', c.lag_ms]]));
  charts.lag.set([{ label: 'lag ms' }], history.lag.data(['lag ms']));
}

/** name(id): the words shown for a group's id (the id stays in the tooltip). */
function renderOnline(table, groups = {}, name = (id) => id) {
  const rows = Object.entries(groups).sort().map(([id, o]) =>
    h('tr', {}, h('th', { scope: 'row', title: `id: ${id}`, dataset: { id } }, name(id)),
      h('td', { class: 'n' }, num(o.impressions)), h('td', { class: 'n' }, num(o.clicks)),
      h('td', { class: 'n' }, num(o.conversions)), h('td', { class: 'n' }, pct(o.ctr)),
      h('td', { class: 'n' }, pct(o.conversion_rate))));
  $(`${table} tbody`).replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: 6 }, 'No feedback recorded yet (POST /v1/feedback).'))]));
}

function renderRoutes(samples, hist) {
  const total = {};
  const errors = {};
  for (const s of samples) {
    if (s.name !== 'vane_http_requests_total') continue;
    const route = routeKey(s.labels);
    if (route === undefined) continue;
    total[route] = (total[route] || 0) + s.value;
    if (Number(s.labels.code) >= 400) errors[route] = (errors[route] || 0) + s.value;
  }
  const routes = Object.keys({ ...total, ...hist }).sort();
  $('#routes-table tbody').replaceChildren(...routes.map((r) => {
    const x = hist[r];
    const stream = isStream(r);
    return h('tr', {}, h('th', { scope: 'row' }, r, stream ? h('div', { class: 'meta' }, 'connection lifetimes') : null),
      h('td', { class: 'n' }, num(total[r] ?? x?.count)), h('td', { class: 'n' }, num(errors[r] || 0)),
      h('td', { class: 'n' }, x?.count ? num((x.sum / x.count) * 1000, 2) : '–'),
      boundCell(x && quantileBounds(0.5, x)), boundCell(x && quantileBounds(0.99, x)));
  }));
}

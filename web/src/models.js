// "Models": the trained versions, their training curves, retraining on demand.
import { api } from './api.js';
import { h, $, num } from './util.js';
import { LineChart } from './charts.js';
import { modelsSummary } from './modelview.js';

const MAX_CURVES = 8; // newest versions whose curves are drawn
const TRAINING_POLL_MS = 3000;

const charts = new Map(); // version -> {card, chart}
let visible = false;
let timer = null;

export function initModels() {
  $('#retrain').addEventListener('click', retrain);
}

export function showModels(on) {
  visible = on;
  clearTimeout(timer);
  if (on) load();
}

async function load() {
  clearTimeout(timer);
  const summary = $('#models-summary');
  try {
    const m = await api('/v1/models');
    summary.className = '';
    const said = modelsSummary(m);
    summary.textContent = said.serving;
    render(m.versions || [], said.empty);
    if (visible && m.training) timer = setTimeout(load, TRAINING_POLL_MS); // until it is done
  } catch (e) {
    summary.className = 'error';
    summary.textContent = e.message;
  }
}

function render(versions, emptyText) {
  const newest = [...versions].reverse();
  const rows = newest.map((v) => {
    const info = v.info || {};
    return h('tr', {},
      h('th', { scope: 'row' }, v.version),
      h('td', {}, h('span', { class: `state state-${v.state}` }, v.state), v.error ? h('div', { class: 'error' }, v.error) : null),
      h('td', { class: 'n' }, num(info['val_ndcg@10'], 4)),
      h('td', { class: 'n' }, num(info['val_hr@10'], 4)),
      h('td', { class: 'n' }, num(info.epochs)),
      h('td', { class: 'n' }, num(info.train_seconds ?? v.seconds, 1)),
      h('td', { class: 'n' }, num(info.events)),
      h('td', { class: 'n' }, num(info.users)),
      h('td', { class: 'n' }, num(info.items)));
  });
  $('#models-table tbody').replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: 9 }, emptyText))]));

  // One chart per version with a curve: loss on the left axis, validation metrics on the right one.
  const withCurve = newest.filter((v) => v.info?.curve?.length).slice(0, MAX_CURVES);
  const keep = new Set(withCurve.map((v) => v.version));
  for (const [version, { card }] of charts) {
    if (!keep.has(version)) {
      card.remove();
      charts.delete(version);
    }
  }
  const grid = $('#curves');
  for (const v of withCurve) {
    let entry = charts.get(v.version);
    if (!entry) {
      const box = h('div');
      const card = h('section', { class: 'card', 'aria-label': `Training curve of ${v.version}` }, h('h3', {}, `Training curve · ${v.version}`), box);
      entry = { card, chart: new LineChart(box, { label: `Loss and validation metrics per epoch of ${v.version}`, height: 180, time: false }) };
      charts.set(v.version, entry);
    }
    grid.append(entry.card); // (re)appended in order: newest first
    const c = v.info.curve;
    entry.chart.set(
      [{ label: 'loss' }, { label: 'val NDCG@10', scale: 'y2' }, { label: 'val HR@10', scale: 'y2' }],
      [c.map((p) => p.epoch), c.map((p) => p.loss), c.map((p) => p['val_ndcg@10']), c.map((p) => p['val_hr@10'])]);
  }
}

async function retrain() {
  const status = $('#retrain-status');
  status.className = '';
  status.textContent = 'Asking the server to retrain…';
  try {
    const r = await api('/v1/models/retrain', { method: 'POST', body: {} });
    status.textContent = `Training ${r.training} started; it is listed here when trained.`;
  } catch (e) {
    status.className = 'error';
    status.textContent = e.message;
  }
  load();
}

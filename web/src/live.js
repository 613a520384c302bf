// "Live user": pick a user, follow their state over Server-Sent Events, play events as them.
import { api, streamUrl } from './api.js';
import { h, $, num, when } from './util.js';
import { InterestGraph } from './graph.js';
import { LineChart, History } from './charts.js';
import { strategyName, sourceName } from './labels.js';

const ACTIONS = ['view', 'like', 'cart', 'purchase', 'dislike'];
const HISTORY = 720; // points kept in the interest time series (2 h at the stream's 10 s heartbeat)
const TOP = 6; // interests drawn in the time series

let user = null; // the selected user id
let source = null; // the EventSource of that user
let graph;
let chart;
let series; // History of the short-term weights of the interests
let shown; // JSON of what is on screen per part, to skip re-rendering (and re-announcing) unchanged parts
let impressed; // "strategy|item" already reported as shown to this user (one impression each per page visit)
let shownUnder = new Map(); // item id -> {strategy, source} it is listed under now (for click/conversion feedback)
let onPick = () => {}; // told of a user picked on the page (main.js: the address)
// Acting on a recommended item is online feedback for the strategy that listed it (docs/http_api.md, /v1/feedback).
const FEEDBACK = { view: 'click', like: 'click', cart: 'conversion', purchase: 'conversion' };

/** picked(user): called when a user is picked on the page (not when opened through openUser). */
export function initLive(picked) {
  if (picked) onPick = picked;
  graph = new InterestGraph($('#graph'), $('#graph-legend'));
  chart = new LineChart($('#interest-chart'), { label: 'Short-term weight of the top interests over time', height: 180 });
  initPicker();
  $('#query-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const q = $('#query').value.trim();
    if (q) sendEvent({ action: 'search', query: q }, `“${q}”`).then((ok) => ok && ($('#query').value = ''));
  });
  for (const list of [$('#recs'), $('#recent')]) {
    list.addEventListener('click', (e) => {
      const button = e.target.closest('button[data-action]');
      if (!button) return;
      const li = button.closest('li');
      const action = button.dataset.action;
      const shown = shownUnder.get(li.dataset.itemId); // now: the event itself may bring a new list
      sendEvent({ action, item: li.dataset.itemId }, li.dataset.title).then((ok) => {
        if (ok && list.id === 'recs' && shown && FEEDBACK[action]) feedback(li.dataset.itemId, FEEDBACK[action], shown.strategy, shown.source);
      });
    });
  }
  reset();
}

/** The user shown ('' when none). */
export const currentUser = () => user || '';

/** Shows a user (from the address: a shared link, back or forward). */
export function openUser(id) {
  $('#user-search').value = id;
  selectUser(id);
}

/** Shows no user (the address names none). */
export function closeUser() {
  source?.close();
  source = null;
  user = null;
  $('#user-search').value = '';
  $('#current-user').textContent = 'none';
  $('#query').disabled = $('#query-send').disabled = true;
  setStatus('idle', 'not connected');
  reset();
}

/** Opens the stream again (after the API key changed). */
export function reconnect() {
  if (user) connect();
}

// --- the user picker: a combobox (type, ↓/↑, Enter; a click works too) ---

function initPicker() {
  const input = $('#user-search');
  const list = $('#user-results');
  let options = [];
  let active = -1;
  let seq = 0; // answers to older keystrokes are dropped
  let timer;

  const setActive = (i) => {
    active = i;
    options.forEach((li, j) => li.setAttribute('aria-selected', String(j === i)));
    if (i >= 0) {
      input.setAttribute('aria-activedescendant', options[i].id);
      options[i].scrollIntoView({ block: 'nearest' });
    } else input.removeAttribute('aria-activedescendant');
  };
  const open = (show) => {
    list.hidden = !show;
    input.setAttribute('aria-expanded', String(show));
    if (!show) setActive(-1);
  };
  const choose = (id) => {
    open(false);
    input.value = id;
    selectUser(id);
    onPick(id);
  };
  const search = async () => {
    const q = input.value.trim();
    const mine = ++seq;
    if (!q) return open(false);
    let users;
    try {
      users = (await api(`/v1/users?q=${encodeURIComponent(q)}&n=20`)).users;
    } catch (e) {
      if (mine === seq) showError(e.message);
      return;
    }
    if (mine !== seq) return;
    showError('');
    options = users.map((u, i) =>
      h('li', { id: `user-opt-${i}`, role: 'option', 'aria-selected': 'false', dataset: { userId: u.id },
        onmousedown: (e) => e.preventDefault(), // keep the focus in the input
        onclick: () => choose(u.id) },
      h('span', { class: 'uid' }, u.id),
      h('span', { class: 'meta' }, `${num(u.events)} events · ${when(u.last_ts)}`)));
    list.replaceChildren(...(options.length ? options : [h('li', { role: 'option', 'aria-disabled': 'true', class: 'none' }, 'no matching user (Enter opens the id as typed)')]));
    open(true);
    setActive(-1);
  };

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(search, 150);
  });
  input.addEventListener('blur', () => open(false));
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (!options.length) return;
      if (list.hidden) open(true);
      const step = e.key === 'ArrowDown' ? 1 : -1;
      setActive(Math.max(0, Math.min(options.length - 1, active + step)));
    } else if (e.key === 'Enter') {
      e.preventDefault();
      const id = active >= 0 && !list.hidden ? options[active].dataset.userId : input.value.trim();
      if (id) choose(id);
    } else if (e.key === 'Escape') {
      open(false);
    }
  });
}

// --- the stream ---

function selectUser(id) {
  user = id;
  $('#current-user').textContent = id;
  $('#query').disabled = $('#query-send').disabled = false;
  $('#play-status').textContent = '';
  reset();
  connect();
}

function connect() {
  source?.close();
  setStatus('connecting', 'connecting…');
  const es = new EventSource(streamUrl(user));
  source = es;
  es.onopen = () => setStatus('live', 'live');
  es.addEventListener('state', (e) => {
    if (source !== es) return;
    try {
      render(JSON.parse(e.data));
    } catch (err) {
      showError(`bad state message: ${err.message}`);
    }
  });
  es.onerror = () => {
    if (source !== es) return;
    if (es.readyState === EventSource.CONNECTING) return setStatus('connecting', 'reconnecting…');
    // Closed for good (an error status): EventSource cannot read the answer, so ask the API why.
    setStatus('closed', 'disconnected');
    api(`/v1/users/${encodeURIComponent(user)}`).then(
      () => {
        if (source !== es) return;
        showError('The stream closed; trying again in 5 s.');
        setTimeout(() => source === es && connect(), 5000);
      },
      (err) => source === es && showError(err.message),
    );
  };
}

function setStatus(state, text) {
  const el = $('#stream-status');
  el.dataset.state = state;
  el.textContent = text;
}

function showError(message) {
  const el = $('#live-error');
  el.textContent = message;
  el.hidden = !message;
}

/** Clears everything shown about the previous user. */
function reset() {
  series = new History(HISTORY);
  shown = {};
  impressed = new Set();
  shownUnder = new Map();
  graph.update({ nodes: [], edges: [] });
  $('#graph-mode').textContent = '';
  chart.set([], [[]]);
  for (const id of ['#recs', '#recent', '#strategy']) $(id).replaceChildren();
  $('#interest-text').replaceChildren(h('p', { class: 'help' }, user ? 'Waiting for the first state…' : 'Pick a user to see their interests.'));
}

// --- rendering a state message ---

function render(state) {
  showError('');
  const interests = state.interests || {};
  const g = interests.graph || { nodes: [], edges: [] };
  const model = interests.model;
  changed('text', [interests.text, interests.text_zh, model?.text, model?.text_zh, model?.generated?.text], () =>
    $('#interest-text').replaceChildren(
      h('p', { class: 'en' }, interests.text || ''),
      h('p', { class: 'zh', lang: 'zh' }, interests.text_zh || ''),
      // Next to the graph's: what the behaviour model says (its interest and keyword heads), when a model serves.
      ...(model && model.text ? [h('p', { class: 'en model-view' }, h('strong', {}, 'Model: '), model.text),
                                 h('p', { class: 'zh model-view', lang: 'zh' }, h('strong', {}, '模型：'), model.text_zh || '')] : []),
      // What the model's text decoder writes the user does next, in the data's own words.
      ...(model?.generated ? [h('p', { class: 'model-generated' }, h('strong', {}, 'The model writes / 模型写下: '),
                                model.generated.text)] : [])));
  changed('graph', [g, interests.in_session], () => {
    graph.update(g, interests.in_session);
    // Idle: the short-term weights are ~0, so the areas show the long-term ones (graphview.js); say so.
    $('#graph-mode').textContent = interests.in_session === false
      ? `Long-term interests: no session now (last event ${when(interests.last_ts) || 'unknown'}), so every short-term weight is ≈ 0.`
      : 'Interests now: area is the short-term weight.';
    $('#graph-mode').dataset.mode = interests.in_session === false ? 'long-term' : 'now';
  });
  appendSeries(g.nodes);
  const rec = state.recommend || {};
  changed('strategy', [rec.strategy, rec.strategy_reason, rec.variant, rec.model_version], () =>
    $('#strategy').replaceChildren(
      h('strong', { title: `strategy id: ${rec.strategy}`, dataset: { id: rec.strategy || '' } }, rec.strategy ? strategyName(rec.strategy) : '–'),
      ' — ', rec.strategy_reason || '',
      h('span', { class: 'meta' }, ` (${rec.model_version && rec.model_version !== 'none' ? `behaviour model ${rec.model_version}` : 'no behaviour model'}` +
        `${rec.variant ? `, A/B variant ${rec.variant}` : ''})`)));
  changed('recs', rec.items, () => {
    keepFocus($('#recs'), () => $('#recs').replaceChildren(...(rec.items || []).map(recItem)));
    shownUnder = new Map((rec.items || []).map((it) => [it.id, { strategy: rec.strategy, source: it.source }]));
    for (const it of rec.items || []) {
      const k = `${rec.strategy}|${it.id}`;
      if (!impressed.has(k)) {
        impressed.add(k);
        feedback(it.id, 'impression', rec.strategy, it.source);
      }
    }
  });
  changed('recent', state.events, () => keepFocus($('#recent'), () => $('#recent').replaceChildren(...(state.events || []).map(recentItem))));
}

/** Runs draw() when value differs from what the part shows now. */
function changed(part, value, draw) {
  const key = JSON.stringify(value ?? null);
  if (shown[part] === key) return;
  shown[part] = key;
  draw();
}

/** Re-rendering a list must not throw away the keyboard focus of someone working its buttons. */
function keepFocus(list, draw) {
  const focused = document.activeElement;
  const inside = list.contains(focused) && focused.dataset.action;
  const itemId = inside && focused.closest('li').dataset.itemId;
  const index = inside && [...list.querySelectorAll('button')].indexOf(focused);
  draw();
  if (!inside) return;
  const again = list.querySelector(`li[data-item-id="${CSS.escape(itemId)}"] button[data-action="${focused.dataset.action}"]`) ||
    list.querySelectorAll('button')[index] || list.querySelector('button');
  again?.focus();
}

function actionButtons(title) {
  return h('div', { class: 'actions' },
    ACTIONS.map((a) => h('button', { type: 'button', dataset: { action: a }, 'aria-label': `${a}: ${title}` }, a)));
}

function recItem(it) {
  const title = it.title || it.id;
  return h('li', { dataset: { itemId: it.id, title } },
    h('div', { class: 'title' }, title),
    h('div', { class: 'meta' }, `score ${num(it.score, 2)} · `,
      h('span', { class: 'source', title: `source id: ${it.source || '–'}`, dataset: { id: it.source || '' } }, it.source ? sourceName(it.source) : '–'),
      ` · ${it.type || 'item'} · ${it.id}`),
    it.reason && h('p', { class: 'reason' }, it.reason),
    it.reason_zh && h('p', { class: 'reason zh', lang: 'zh' }, it.reason_zh),
    actionButtons(title));
}

function recentItem(ev) {
  const what = ev.item ? ev.title || ev.item : `“${ev.query}”`;
  const attrs = ev.item ? { dataset: { itemId: ev.item, title: what, seq: ev.seq } } : { dataset: { seq: ev.seq } };
  return h('li', attrs,
    h('div', {}, h('span', { class: `act act-${ev.action}` }, ev.action), ' ', h('span', { class: 'title' }, what)),
    h('div', { class: 'meta' }, when(ev.ts), ev.item && ev.query ? ` · searched “${ev.query}”` : ''),
    ev.item && actionButtons(what));
}

/** Appends the current short-term weights to the time series and draws its top interests. */
function appendSeries(nodes) {
  const now = new Map(nodes.map((n) => [n.kind === 'keyword' ? `“${n.name}”` : n.name, n.s ?? null]));
  series.push(Date.now() / 1000, now);
  // The strongest interests now, in a stable (alphabetical) order so colours stay put while the set does.
  const top = [...now].filter(([, s]) => s != null).sort((a, b) => b[1] - a[1]).slice(0, TOP).map(([n]) => n).sort();
  chart.set(top.map((name) => ({ label: name })), series.data(top));
}

/** Reports what the page showed and what was done with it (online CTR and conversion per strategy and source),
 * labelled as the dashboard's own traffic so that it is counted apart from real clients'. Best effort: a refused
 * report (e.g. a read-only key) is shown once in the status line and does not stop the page. */
async function feedback(item, type, strategy, source) {
  try {
    await api('/v1/feedback', { method: 'POST', body: { user, item, type, strategy, source, origin: 'dashboard' } });
  } catch (e) {
    const status = $('#play-status');
    if (!status.textContent.startsWith('Feedback')) {
      status.className = 'play-status error';
      status.textContent = `Feedback not recorded: ${e.message}`;
    }
  }
}

/** Posts one event of the selected user; answers whether it was accepted. */
async function sendEvent(ev, label) {
  const status = $('#play-status');
  status.className = 'play-status';
  status.textContent = `Sending ${ev.action}…`;
  try {
    const r = await api('/v1/events', { method: 'POST', body: [{ user, ...ev }] });
    if (r.accepted) status.textContent = `Sent ${ev.action}: ${label}`;
    else if (r.duplicates) status.textContent = `Already recorded (duplicate): ${ev.action} ${label}`;
    else throw new Error('rejected: ' + (r.rejected || []).map((x) => `${x.field} ${x.reason}`).join('; '));
    return r.accepted > 0;
  } catch (e) {
    status.className = 'play-status error';
    status.textContent = e.message;
    return false;
  }
}

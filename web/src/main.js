// The dashboard's entry: tabs, the address (#/user/<id> opens a user; route.js), the API key field, the panels.
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { apiKey, setApiKey } from './api.js';
import { $ } from './util.js';
import { initLive, reconnect, openUser, closeUser, currentUser } from './live.js';
import { initModels, showModels } from './models.js';
import { initService, showService } from './service.js';
import { TABS, parseRoute, formatRoute } from './route.js';

/** Shows a tab; the address follows (replaced, not a new history entry: back goes to the previous user). */
function showTab(name) {
  for (const tab of TABS) {
    $(`#${tab}`).hidden = tab !== name;
    const button = $(`.tab[data-tab="${tab}"]`);
    if (tab === name) button.setAttribute('aria-current', 'page');
    else button.removeAttribute('aria-current');
  }
  showModels(name === 'models');
  showService(name === 'service');
  const hash = formatRoute({ tab: name, user: currentUser() });
  if (location.hash !== hash || location.search) history.replaceState(null, '', location.pathname + hash);
}

/** Shows what the address says: on load, and on back / forward. */
function applyRoute() {
  const { tab, user } = parseRoute(location.hash, location.search);
  if (user && user !== currentUser()) openUser(user);
  else if (!user && tab === 'live' && currentUser()) closeUser(); // back to the page before a user was picked
  showTab(tab);
}

/** A user picked on the page: a new history entry, so that the address can be shared and back returns. */
function userPicked(user) {
  const hash = formatRoute({ tab: 'live', user });
  if (location.hash !== hash) history.pushState(null, '', location.pathname + hash);
}

function initKey() {
  const input = $('#api-key');
  input.value = apiKey();
  $('#key-form').addEventListener('submit', (e) => {
    e.preventDefault();
    setApiKey(input.value.trim());
    reconnect(); // the stream carries the key in its URL
  });
}

initKey();
initLive(userPicked);
initModels();
initService();
for (const button of document.querySelectorAll('.tab')) button.addEventListener('click', () => showTab(button.dataset.tab));
window.addEventListener('popstate', applyRoute);
window.addEventListener('hashchange', applyRoute); // an address typed or a link followed
applyRoute();

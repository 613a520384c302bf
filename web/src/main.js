// The dashboard's entry: tabs, the API key field, the three panels.
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { apiKey, setApiKey } from './api.js';
import { $ } from './util.js';
import { initLive, reconnect } from './live.js';
import { initModels, showModels } from './models.js';
import { initService, showService } from './service.js';

const TABS = ['live', 'models', 'service'];

function showTab(name) {
  for (const tab of TABS) {
    $(`#${tab}`).hidden = tab !== name;
    const button = $(`.tab[data-tab="${tab}"]`);
    if (tab === name) button.setAttribute('aria-current', 'page');
    else button.removeAttribute('aria-current');
  }
  showModels(name === 'models');
  showService(name === 'service');
  if (location.hash !== `#${name}`) history.replaceState(null, '', `#${name}`);
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
initLive();
initModels();
initService();
for (const button of document.querySelectorAll('.tab')) button.addEventListener('click', () => showTab(button.dataset.tab));
window.addEventListener('hashchange', () => TABS.includes(location.hash.slice(1)) && showTab(location.hash.slice(1)));
showTab(TABS.includes(location.hash.slice(1)) ? location.hash.slice(1) : 'live');

// Small DOM and formatting helpers shared by the panels.

/**
 * Creates an element: h('li', {class: 'x', dataset: {itemId: 'i-1'}, onclick: fn}, 'text', child).
 * Text is always set as text (never parsed as HTML): titles and queries come from user data.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  el.append(...children.flat().filter((c) => c != null && c !== false));
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

/** A number with `digits` decimals, '–' when absent. */
export function num(v, digits = 0) {
  if (v == null || Number.isNaN(v)) return '–';
  return Number(v).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export const pct = (v) => (v == null ? '–' : `${num(v * 100, 1)} %`);

export function bytes(v) {
  if (v == null) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${num(v, i ? 1 : 0)} ${units[i]}`;
}

/** Unix seconds as a short local date-time (the time alone when it is today). */
export function when(ts) {
  if (!ts) return '';
  const d = new Date(ts * 1000);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}

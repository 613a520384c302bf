// Talking to the vane server (same origin): the API key, JSON errors, the stream URL.

const KEY_STORAGE = 'vane.apiKey';

let key = (() => {
  try {
    return localStorage.getItem(KEY_STORAGE) || '';
  } catch {
    return ''; // storage disabled: no saved key
  }
})();

export const apiKey = () => key;

/** Sets the key of every request from now on and remembers it in localStorage (when storage works). */
export function setApiKey(value) {
  key = value;
  try {
    if (value) localStorage.setItem(KEY_STORAGE, value);
    else localStorage.removeItem(KEY_STORAGE);
  } catch {
    // storage disabled: the key lasts until the page is closed
  }
}

/**
 * Fetches a route with the API key; answers the parsed JSON (or the text with {text: true}).
 * Failures throw an Error whose message is the server's (errors are {"error": {"code", "message"}}).
 */
export async function api(path, { method = 'GET', body, text = false } = {}) {
  const headers = {};
  if (key) headers['X-API-Key'] = key;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new Error(`cannot reach the server (${e.message})`);
  }
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      message = (await res.json()).error.message || message;
    } catch {
      // not the JSON error: keep the status line
    }
    throw new Error(message);
  }
  return text ? res.text() : res.json();
}

/** The URL of a user's state stream; EventSource cannot send headers, so the key goes in the query. */
export function streamUrl(user, n = 10) {
  return `/v1/stream/users/${encodeURIComponent(user)}?n=${n}` + (key ? `&api_key=${encodeURIComponent(key)}` : '');
}

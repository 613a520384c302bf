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

/** An error answer of the server: {"error": {"code", "message"}}. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * Fetches a route with the API key; answers the parsed JSON (or the text with {text: true}).
 * Non-2xx answers throw an ApiError carrying the server's message.
 */
export async function api(path, { method = 'GET', body, text = false } = {}) {
  const headers = {};
  if (key) headers['X-API-Key'] = key;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, 'network', `cannot reach the server (${e.message})`);
  }
  if (!res.ok) {
    let code = 'http_' + res.status;
    let message = `${res.status} ${res.statusText}`;
    try {
      const err = (await res.json()).error;
      if (err && err.message) ({ code, message } = err);
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(res.status, code, message);
  }
  return text ? res.text() : res.json();
}

/** The URL of a user's state stream; EventSource cannot send headers, so the key goes in the query. */
export function streamUrl(user, n = 10) {
  return `/v1/stream/users/${encodeURIComponent(user)}?n=${n}` + (key ? `&api_key=${encodeURIComponent(key)}` : '');
}

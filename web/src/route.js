// The page's address (no DOM: unit-tested under node): "#/user/<id>" is a user's page on the Live tab (a link to
// share; back and forward move between users), "#live", "#models", "#service" the tabs. "?user=<id>" is accepted
// too and read as "#/user/<id>".

export const TABS = ['live', 'models', 'service'];

/** {tab, user} of an address (user: '' when none). */
export function parseRoute(hash = '', search = '') {
  const h = hash.replace(/^#/, '');
  const m = /^\/user\/(.+)$/.exec(h);
  if (m) {
    let user;
    try {
      user = decodeURIComponent(m[1]);
    } catch {
      user = m[1]; // a malformed escape: the id as written
    }
    return { tab: 'live', user };
  }
  if (TABS.includes(h)) return { tab: h, user: '' };
  const q = new URLSearchParams(search).get('user');
  if (q) return { tab: 'live', user: q };
  return { tab: 'live', user: '' };
}

/** The hash of a route: "#/user/<id>" for a user on the Live tab, else "#<tab>". */
export function formatRoute({ tab, user }) {
  if (tab === 'live' && user) return `#/user/${encodeURIComponent(user)}`;
  return `#${tab}`;
}

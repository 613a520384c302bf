// Cluster mode's words for the Service page: a node's position in the shared log, shortened.

/** Compares stream entry ids "ms-seq" (numbers, not text). */
export function compareIds(a, b) {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am !== bm ? am - bm : as - bs;
}

/** "0:1764-0,1:1765-3" → "2 partitions, newest entry 1765-3"; "–" when empty. */
export function shortPosition(position) {
  if (!position) return '–';
  const ids = position.split(',').map((x) => x.split(':')[1] || '0-0');
  const newest = ids.reduce((a, b) => (compareIds(a, b) >= 0 ? a : b), '0-0');
  return `${ids.length} partitions, newest entry ${newest}`;
}

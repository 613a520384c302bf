// Prometheus text format: parsing and histogram quantiles (no DOM: unit-tested under node).

/** Parses the exposition text into samples [{name, labels: {k: v}, value}] (comments skipped). */
export function parseProm(text) {
  const samples = [];
  const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
  const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const raw of text.split('\n')) {
    if (!raw || raw.startsWith('#')) continue;
    const m = line.exec(raw);
    if (!m) continue;
    const labels = {};
    for (const [, k, v] of (m[2] || '').matchAll(label)) labels[k] = v.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1], labels, value: parseFloat(m[3]) });
  }
  return samples;
}

/**
 * The histogram `name` per value of the label `by` (a label name, or a function of the labels giving the key):
 * {key: {buckets: [[le, cumulative count]] ascending (le Infinity last), sum, count}}.
 */
export function histograms(samples, name, by) {
  const out = {};
  const get = (k) => (out[k] ??= { buckets: [], sum: 0, count: 0 });
  for (const s of samples) {
    const key = typeof by === 'function' ? by(s.labels) : s.labels[by];
    if (key === undefined) continue;
    if (s.name === `${name}_bucket`) get(key).buckets.push([s.labels.le === '+Inf' ? Infinity : parseFloat(s.labels.le), s.value]);
    else if (s.name === `${name}_sum`) get(key).sum = s.value;
    else if (s.name === `${name}_count`) get(key).count = s.value;
  }
  for (const h of Object.values(out)) h.buckets.sort((a, b) => a[0] - b[0]);
  return out;
}

/** The histogram of the observations between two scrapes (b later than a; a may be undefined). */
export function histogramDelta(b, a) {
  if (!a) return b;
  const before = new Map(a.buckets);
  return {
    buckets: b.buckets.map(([le, c]) => [le, c - (before.get(le) || 0)]),
    sum: b.sum - a.sum,
    count: b.count - a.count,
  };
}

/**
 * Estimates the q-quantile like Prometheus' histogram_quantile: linear interpolation inside the bucket that holds
 * the rank (the first bucket starts at 0; a rank in the +Inf bucket answers the highest finite bound).
 * Answers null without observations.
 */
export function quantile(q, buckets) {
  const total = buckets.length ? buckets[buckets.length - 1][1] : 0;
  if (!(total > 0)) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return prevLe;
      if (count === prevCount) return le;
      return prevLe + ((le - prevLe) * (rank - prevCount)) / (count - prevCount);
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

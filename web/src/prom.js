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
 * Answers null without observations. The Service page shows quantileBounds instead (this estimate can exceed the
 * mean or miss the true value); it is kept as the reference the bounds are tested against.
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

/**
 * What a histogram can say for certain of its q-quantile, taken as the k-th smallest of the n observations
 * (k = max(1, ceil(q n))): {lo, hi, n}, with lo <= x_k <= hi. lo and hi are the bounds of the bucket that holds rank
 * k, and hi is tightened by the sum: the n-k+1 observations from the k-th up are each at least x_k, the k-1 below it
 * at least their buckets' lower bounds, so x_k <= (sum - those lower bounds) / (n-k+1). That also bounds a rank in
 * the +Inf bucket. Unlike the interpolated estimate (quantile), hi is never below the true quantile, and it is
 * never above the mean / (1 - q) for rank k <= q n + 1 (hence a p50 bound is at most twice the mean). null without
 * observations. h: {buckets: [[le, cumulative count]] ascending, sum, count}.
 */
export function quantileBounds(q, h) {
  const n = h.buckets.length ? h.buckets[h.buckets.length - 1][1] : 0;
  if (!(n > 0)) return null;
  const k = Math.max(1, Math.ceil(q * n - 1e-9));
  let lo = 0;
  let hi = Infinity;
  let below = 0; // sum of the lower bounds of the k-1 smallest observations
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of h.buckets) {
    const inBucket = count - prevCount;
    if (count >= k) {
      lo = prevLe;
      hi = le;
      below += prevLe * Math.max(0, k - 1 - prevCount);
      break;
    }
    below += prevLe * inBucket;
    prevLe = le;
    prevCount = count;
  }
  if (Number.isFinite(h.sum)) hi = Math.min(hi, (h.sum - below) / (n - k + 1));
  if (!(hi >= lo)) hi = lo; // rounding of the sum: the bucket bound still holds
  return { lo, hi, n };
}

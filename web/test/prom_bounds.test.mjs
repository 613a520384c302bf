// Unit tests of the quantile bounds the Service page shows (node --test), against the exact quantiles of random
// samples: the interpolated estimate can exceed the mean and miss the true value; the bounds always hold.
import test from 'node:test';
import assert from 'node:assert/strict';
import { quantile, quantileBounds } from '../src/prom.js';

const LES = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, Infinity];

/** The cumulative histogram of the observations (Prometheus buckets). */
function histogram(xs) {
  return { buckets: LES.map((le) => [le, xs.filter((x) => x <= le).length]), sum: xs.reduce((a, b) => a + b, 0), count: xs.length };
}
/** The exact q-quantile as quantileBounds defines it: the k-th smallest, k = max(1, ceil(q n)). */
const exact = (q, xs) => [...xs].sort((a, b) => a - b)[Math.max(1, Math.ceil(q * xs.length - 1e-9)) - 1];

// A seeded generator (xorshift) so that a failure can be replayed.
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => ((s ^= s << 13), (s ^= s >>> 17), (s ^= s << 5), (s >>> 0) / 2 ** 32);
}

test('a few observations in a wide bucket: the interpolated p50 exceeds the mean; the bound does not mislead', () => {
  // 3 requests of 5.2, 5.5 and 6 ms: all in the (5, 10] ms bucket.
  const xs = [0.0052, 0.0055, 0.006];
  const h = histogram(xs);
  const mean = h.sum / h.count;
  assert.ok(quantile(0.5, h.buckets) > mean, 'the old estimate: 7.5 ms, above the 5.6 ms mean');
  const b = quantileBounds(0.5, h);
  assert.ok(b.lo <= exact(0.5, xs) && exact(0.5, xs) <= b.hi);
  assert.ok(b.hi <= 2 * mean + 1e-12);
  assert.equal(b.lo, 0.005);
  assert.ok(Math.abs(b.hi - (h.sum - 0.005) / 2) < 1e-12, `hi ${b.hi}`); // tightened by the sum: (16.7 - 5) / 2 ms
});

test('on random samples the bounds hold the exact quantile; the interpolated estimate does not', () => {
  const next = rng(12345);
  let estimateMisses = 0;
  let runs = 0;
  for (let run = 0; run < 3000; run++) {
    const n = 1 + Math.floor(next() * (run % 3 === 0 ? 5 : 200));
    const spread = next() < 0.1 ? 3 : 0.05; // some runs with observations beyond the last finite bucket
    const xs = Array.from({ length: n }, () => (next() ** 3) * spread);
    const h = histogram(xs);
    for (const q of [0.5, 0.9, 0.99]) {
      const b = quantileBounds(q, h);
      const x = exact(q, xs);
      assert.ok(b.lo <= x + 1e-15 && x <= b.hi + 1e-12, `run ${run} q ${q}: ${x} not in [${b.lo}, ${b.hi}] (${xs.join(',')})`);
      assert.ok(Number.isFinite(b.hi), 'a rank in the +Inf bucket is bounded by the sum');
      assert.equal(b.n, n);
      const e = quantile(q, h.buckets);
      if (!(e >= x - 1e-12)) estimateMisses++;
      runs++;
    }
  }
  // The negative control: the interpolated estimate is often below the true quantile (it is not a bound).
  assert.ok(estimateMisses > runs / 20, `estimate below the truth in ${estimateMisses} of ${runs}`);
  assert.equal(quantileBounds(0.5, { buckets: [[0.1, 0], [Infinity, 0]], sum: 0, count: 0 }), null);
});
